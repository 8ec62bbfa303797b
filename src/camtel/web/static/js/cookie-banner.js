// The cookie choice (P11) and the cookie-less page view (P10) of the public pages.
// The choice's forms work without this script (they post to /cookies); with it, the choice goes
// to PUT /api/v1/cookie-consent and the page stays. "Cookie settings" in the footer opens the
// banner again. A page view is sent without any cookie, and not at all after a "no", with
// Do Not Track or with Global Privacy Control.
import { api, config, toast } from "./core.js";

const banner = document.getElementById("cookie-banner");

function privacySignal() {
  return navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
}

/** Count this page view in the first-party statistics: no cookie, no identifier. */
function countVisit() {
  if (!banner || banner.dataset.statistics !== "on" || privacySignal()) return;
  fetch("/api/v1/analytics/hit", {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ page: location.pathname }),
    keepalive: true,
  }).catch(() => { /* statistics are never worth an error */ });
}

function showChoice(analytics) {
  for (const current of document.querySelectorAll(".cookie-current")) {
    current.textContent = analytics ? current.dataset.yes : current.dataset.no;
  }
  if (banner) banner.dataset.statistics = analytics ? "on" : "off";
}

function open() {
  // On the cookie settings page the choice is right there; elsewhere the banner comes back.
  const target = document.getElementById("cookie-settings") || banner;
  if (!target) return;
  target.hidden = false;
  target.scrollIntoView({ block: "nearest" });
  target.querySelector("h2").focus();
}

function close() {
  banner.hidden = true;
  const main = document.getElementById("main");
  if (main) main.focus();
}

async function choose(form, value) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((button) => { button.disabled = true; });
  try {
    await api("cookie-consent", { method: "PUT", body: { analytics: value === "1" }, reauth: false });
  } catch {
    // The page's own form records the choice too (and copes with an ended sign-in).
    const field = Object.assign(document.createElement("input"), { type: "hidden", name: "analytics", value });
    form.append(field);
    HTMLFormElement.prototype.submit.call(form);
    return;
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
  showChoice(value === "1");
  if (banner && banner.contains(form)) close();
  if (banner) toast(banner.dataset.saved);
}

for (const form of document.querySelectorAll("form.cookie-choice")) {
  form.addEventListener("submit", (event) => {
    const value = event.submitter ? event.submitter.value : "";
    if (value !== "0" && value !== "1") return; // let the browser post the form
    event.preventDefault();
    choose(form, value);
  });
}

const settingsLink = document.getElementById("cookie-settings-link");
if (settingsLink) {
  settingsLink.addEventListener("click", (event) => {
    event.preventDefault();
    open();
  });
}

async function start() {
  // A signed-in person may have chosen in another browser: their account remembers it.
  if (banner && !banner.hidden && config.user) {
    try {
      const state = await api("cookie-consent", { reauth: false });
      if (state.decided) {
        showChoice(state.analytics);
        banner.hidden = true;
      }
    } catch { /* the banner stays: choosing again is harmless */ }
  }
  countVisit();
}

start();
