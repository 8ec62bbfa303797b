// Web Push in this browser: the service worker, a subscription with camtel's VAPID key, and
// its registration with the server (whose id this browser remembers, to unregister it later).
import { api, t } from "./core.js";

const STORED_ID = "camtel.push-subscription-id";
const READY_TIMEOUT_MS = 10000;

/** A failure to show the person, already in their language. */
export class PushProblem extends Error {}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** "granted", "denied", "default", or "unsupported". */
export function permission() {
  return pushSupported() ? Notification.permission : "unsupported";
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function activeRegistration() {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new PushProblem(t("The app's service worker did not start. Reload the page and try again."))), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** This browser's push subscription, if it has one. */
export async function browserSubscription() {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

/** The server's id of this browser's subscription, as remembered when it was made. */
export function rememberedId() {
  try { return localStorage.getItem(STORED_ID); } catch { return null; }
}

function remember(id) {
  try {
    if (id) localStorage.setItem(STORED_ID, id);
    else localStorage.removeItem(STORED_ID);
  } catch { /* private mode: the list still offers "Remove" */ }
}

/** Ask for permission, subscribe with camtel's key and register the subscription. */
export async function turnOn() {
  if (!pushSupported()) throw new PushProblem(t("This browser cannot show notifications from websites."));
  const answer = await Notification.requestPermission();
  if (answer !== "granted") {
    throw new PushProblem(t("Notifications are blocked for this site. Allow them in your browser's site settings, then try again."));
  }
  const registration = await activeRegistration();
  const { public_key: publicKey } = await api("push/vapid-public-key");
  let subscription;
  try {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  } catch (error) {
    throw new PushProblem(t("This browser could not subscribe to notifications ({reason}). The inbox and email still work.", { reason: error.message || error.name }));
  }
  const saved = await api("push/subscriptions", { method: "POST", body: subscription.toJSON() });
  remember(saved.id);
  return saved;
}

/** Stop push in this browser and unregister it with the server. */
export async function turnOff() {
  const subscription = await browserSubscription();
  if (subscription) await subscription.unsubscribe().catch(() => {});
  const id = rememberedId();
  remember(null);
  if (id) {
    try { await api(`push/subscriptions/${encodeURIComponent(id)}`, { method: "DELETE" }); } catch (error) {
      if (error.status !== 404) throw error;
    }
  }
}

/** Forget a server-side id when its subscription was removed from the list. */
export function forget(id) {
  if (rememberedId() === id) remember(null);
}
