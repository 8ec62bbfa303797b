// Every page: sign-out, the unread-alerts badge, local times, and the service worker.
import { api, config, localiseTimes } from "./core.js";

localiseTimes();

const signOut = document.getElementById("sign-out");
if (signOut) {
  signOut.addEventListener("click", async () => {
    try { await api("auth/logout", { method: "POST" }); } finally { window.location.assign("/login"); }
  });
}

async function refreshBadge() {
  const badge = document.getElementById("unread-badge");
  if (!badge || !config.user) return;
  try {
    const unread = await api("notifications?unread=true&limit=100");
    badge.hidden = unread.length === 0;
    badge.textContent = unread.length >= 100 ? "99+" : String(unread.length);
    badge.setAttribute("aria-label", `${badge.textContent}`);
  } catch { /* the badge is a courtesy */ }
}
refreshBadge();
document.addEventListener("camtel:notifications-changed", refreshBadge);

if ("serviceWorker" in navigator && config.user) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
