// camtel's service worker: keeps the app shell (styles, scripts, icons, map data) for offline
// starts, never API data; shows Web Push notifications and opens the alerts page on a click.
const SHELL = "camtel-shell-v1";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  // Static files named with their content hash (?v=) never change: cache first.
  if (url.pathname.startsWith("/static/") && url.searchParams.has("v")) {
    event.respondWith((async () => {
      const cache = await caches.open(SHELL);
      const hit = await cache.match(event.request);
      if (hit) return hit;
      const answer = await fetch(event.request);
      if (answer.ok) cache.put(event.request, answer.clone());
      return answer;
    })());
  }
  // Modules imported by other modules have no hash: network first, the cache when offline.
  else if (url.pathname.startsWith("/static/")) {
    event.respondWith((async () => {
      const cache = await caches.open(SHELL);
      try {
        const answer = await fetch(event.request);
        if (answer.ok) cache.put(event.request, answer.clone());
        return answer;
      } catch (offline) {
        const hit = await cache.match(event.request);
        if (hit) return hit;
        throw offline;
      }
    })());
  }
  // Pages and the API always go to the network: personal data is never kept in the cache.
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { title: event.data && event.data.text() }; }
  const title = data.title || "camtel";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.event_id || undefined,
    requireInteraction: Boolean(data.urgent),
    icon: "/static/img/icon-192.png",
    data: { url: "/app/alerts" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/app/alerts";
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window" })) {
      if (new URL(client.url).pathname.startsWith("/app")) { client.navigate(target); return client.focus(); }
    }
    return self.clients.openWindow(target);
  })());
});
