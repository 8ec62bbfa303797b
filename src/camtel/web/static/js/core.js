// What every page's script shares: the page's configuration, translations, the API client
// (session cookie + CSRF header) and formatting in the viewer's language and time zone.

const configElement = document.getElementById("camtel-config");
export const config = configElement ? JSON.parse(configElement.textContent) : { strings: {}, data: {} };
export const lang = config.lang || document.documentElement.lang || "en";

/** A translated string the page handed to its script; `{name}` placeholders are filled in. */
export function t(key, values = {}) {
  const text = (config.strings && config.strings[key]) || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

function cookie(name) {
  for (const part of document.cookie.split("; ")) {
    const [key, ...rest] = part.split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** An error answered by the API (RFC 9457 problem details). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Call the JSON API as the signed-in person. `body` is sent as JSON unless it is FormData.
 * A 401 means the session ended (off to sign in) unless `reauth` is false: a route that checks
 * a password the person typed answers 401 for a wrong one, which the page shows itself. */
export async function api(path, { method = "GET", body, headers = {}, raw = false, signal, reauth = true } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin", signal };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = cookie("camtel_csrf");
  if (body instanceof FormData || body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const url = path.startsWith("/") ? path : `/api/v1/${path}`;
  const answer = await fetch(url, init);
  if (answer.status === 401 && reauth && !url.startsWith("/api/v1/auth/")) {
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, { detail: t("Your session has ended; sign in again.") });
  }
  if (!answer.ok) {
    let problem = null;
    try { problem = await answer.json(); } catch { /* not JSON */ }
    throw new ApiError(answer.status, problem);
  }
  if (raw) return answer;
  if (answer.status === 204) return null;
  const type = answer.headers.get("content-type") || "";
  return type.includes("json") ? answer.json() : answer.text();
}

/** Every page of a paginated list (follows `Link: rel="next"`), up to `max` items. */
export async function apiAll(path, { max = 20000 } = {}) {
  let items = [];
  let next = path.startsWith("/") ? path : `/api/v1/${path}`;
  while (next && items.length < max) {
    const answer = await api(next, { raw: true });
    items = items.concat(await answer.json());
    const link = answer.headers.get("link") || "";
    const match = link.match(/<([^>]+)>;\s*rel="next"/);
    next = match ? new URL(match[1], location.origin).pathname + new URL(match[1], location.origin).search : null;
  }
  return items;
}

/** Show a short message in the page's polite live region. */
export function toast(message) {
  const region = document.getElementById("toast");
  if (!region) return;
  region.textContent = message;
  region.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => region.classList.remove("shown"), 5000);
}

const numberFormats = new Map();
function number(options) {
  const key = JSON.stringify(options);
  if (!numberFormats.has(key)) numberFormats.set(key, new Intl.NumberFormat(lang, options));
  return numberFormats.get(key);
}
const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateOnly = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });

export const format = {
  /** Date and time in the viewer's own time zone. */
  dateTime: (value) => (value ? dateTime.format(new Date(value)) : "–"),
  time: (value) => (value ? timeOnly.format(new Date(value)) : "–"),
  date: (value) => (value ? dateOnly.format(new Date(value)) : "–"),
  speed: (kmh) => (kmh == null ? "–" : `${number({ maximumFractionDigits: 0 }).format(kmh)} km/h`),
  distance: (metres) =>
    metres == null ? "–"
      : metres < 1000 ? `${number({ maximumFractionDigits: 0 }).format(metres)} m`
        : `${number({ maximumFractionDigits: 1 }).format(metres / 1000)} km`,
  duration: (seconds) => {
    if (seconds == null) return "–";
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    return h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
  },
  coordinate: (value) => number({ minimumFractionDigits: 5, maximumFractionDigits: 5 }).format(value),
  /** "3 min ago", in the page's language. */
  ago: (value) => {
    if (!value) return "–";
    const seconds = Math.round((new Date(value).getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 60) return relative.format(seconds, "second");
    if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
    return relative.format(Math.round(seconds / 86400), "day");
  },
};

/** Build an element: el("li", {class: "x", dataset: {id}}, "text", child). Text is never HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Re-render every `<time datetime>` the server wrote in the viewer's own zone and language. */
export function localiseTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime][data-local]")) {
    node.textContent = node.dataset.local === "date" ? format.date(node.dateTime) : format.dateTime(node.dateTime);
  }
}
