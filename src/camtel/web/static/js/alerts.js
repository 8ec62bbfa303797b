// The alerts page: the inbox (newest first, live over the socket, read/unread), the person's
// notification rules as a table of event types × channels, and Web Push in this browser.
import { api, apiAll, config, el, format, t } from "./core.js";
import { connectLive } from "./live.js";
import { channelLabel, channelName, eventTypeName } from "./event-types.js";
import * as push from "./push.js";

const PAGE_SIZE = 50;
/** Rules this page manages are named after their channel; any other rule is left as it is. */
const RULE_PREFIX = "settings-page:";
const EVENT_TYPES = config.data.eventTypes || [];
const CHANNELS = config.data.channels || ["inbox", "email", "webpush"];
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const $ = (id) => document.getElementById(id);

function changed() {
  document.dispatchEvent(new CustomEvent("camtel:notifications-changed"));
}

function problemText(error) {
  return error && error.message ? error.message : t("Something went wrong. Please try again.");
}

// ---------------------------------------------------------------- inbox

const list = $("inbox-list");
const loadMore = $("load-more");
const unreadOnly = $("unread-only");
const inboxError = $("inbox-error");
/** id -> {item, node, parts} */
const entries = new Map();
const devices = new Map();
let next = null;
let devicesAsked = 0;

/** An inbox item from the API or from the live socket, in one shape. */
function normalise(raw) {
  return {
    id: raw.id,
    type: raw.event_type || raw.type,
    device_id: raw.device_id,
    title: raw.title || "",
    urgent: Boolean(raw.urgent),
    time: raw.time,
    read: raw.read_at != null || raw.read === true,
  };
}

function deviceName(id) {
  const device = devices.get(id);
  return device ? device.name : t("Unknown vehicle");
}

async function loadDevices() {
  devicesAsked = Date.now();
  try {
    for (const device of await apiAll("devices")) devices.set(device.id, device);
  } catch { /* names are a courtesy: the title names the vehicle too */ }
  for (const entry of entries.values()) entry.parts.device.textContent = deviceName(entry.item.device_id);
}

function makeEntry(item) {
  const titleId = `notification-${item.id}`;
  const parts = {
    urgent: el("span", { class: "urgent-tag" }, el("span", { class: "urgent-icon", "aria-hidden": "true" }, "!"), t("Urgent")),
    state: el("span", { class: "read-state" }),
    device: el("span", { class: "item-device" }, deviceName(item.device_id)),
    button: el("button", { type: "button", class: "mark", "aria-describedby": titleId }),
  };
  const node = el("li", { class: "inbox-item", dataset: { id: item.id, testid: "notification" } },
    el("div", { class: "item-marks" }, item.urgent ? parts.urgent : null, parts.state),
    el("p", { class: "item-title", id: titleId }, item.title),
    el("p", { class: "item-meta" },
      el("span", { class: "item-type" }, eventTypeName(item.type)), " · ", parts.device, " · ",
      el("time", { datetime: item.time }, format.dateTime(item.time))),
    el("div", { class: "item-actions" }, parts.button));
  const entry = { item, node, parts };
  parts.button.addEventListener("click", () => setRead(entry, !entry.item.read));
  paint(entry);
  return entry;
}

function paint(entry) {
  const { item, node, parts } = entry;
  node.classList.toggle("unread", !item.read);
  node.classList.toggle("is-urgent", item.urgent);
  node.dataset.read = String(item.read);
  parts.state.textContent = item.read ? "" : t("Unread");
  parts.button.textContent = item.read ? t("Mark as unread") : t("Mark as read");
}

/** Put an item where it belongs (ids grow with time: newest first is id descending). */
function place(item) {
  const known = entries.get(item.id);
  if (known) {
    known.item = item;
    paint(known);
    return false;
  }
  if (unreadOnly.checked && item.read) return false;
  const entry = makeEntry(item);
  entries.set(item.id, entry);
  let before = null;
  for (const node of list.children) {
    if (node.dataset.id < item.id) { before = node; break; }
  }
  list.insertBefore(entry.node, before);
  if (!devices.has(item.device_id) && Date.now() - devicesAsked > 5000) loadDevices();
  return true;
}

function showEmpty() {
  $("inbox-empty").hidden = entries.size > 0;
  $("mark-all").disabled = ![...entries.values()].some((e) => !e.item.read);
}

function nextPath(answer) {
  const match = (answer.headers.get("link") || "").match(/<([^>]+)>;\s*rel="next"/);
  if (!match) return null;
  const url = new URL(match[1], location.origin);
  return url.pathname + url.search;
}

function firstPath() {
  return `/api/v1/notifications?limit=${PAGE_SIZE}${unreadOnly.checked ? "&unread=true" : ""}`;
}

async function fetchPage(path) {
  const answer = await api(path, { raw: true });
  return { items: (await answer.json()).map(normalise), next: nextPath(answer) };
}

/** The first page again: after (re)connecting, whatever arrived meanwhile is merged in. */
async function loadFirst({ reset = false } = {}) {
  inboxError.textContent = "";
  list.setAttribute("aria-busy", "true");
  try {
    const { items, next: after } = await fetchPage(firstPath());
    if (reset) {
      entries.clear();
      list.replaceChildren();
      next = after;
    } else if (entries.size === 0) next = after;
    for (const item of items) place(item);
  } catch (error) {
    inboxError.textContent = problemText(error);
  } finally {
    list.setAttribute("aria-busy", "false");
    loadMore.hidden = !next;
    showEmpty();
  }
}

loadMore.addEventListener("click", async () => {
  if (!next) return;
  loadMore.disabled = true;
  try {
    const page = await fetchPage(next);
    next = page.next;
    const first = page.items.find((item) => !entries.has(item.id));
    for (const item of page.items) place(item);
    // Keyboard users carry on from the first item that was added.
    if (first && entries.get(first.id)) entries.get(first.id).parts.button.focus();
  } catch (error) {
    inboxError.textContent = problemText(error);
  } finally {
    loadMore.disabled = false;
    loadMore.hidden = !next;
    showEmpty();
  }
});

async function setRead(entry, read) {
  entry.parts.button.disabled = true;
  inboxError.textContent = "";
  try {
    const updated = normalise(await api(`notifications/${entry.item.id}`, { method: "PATCH", body: { read } }));
    entry.item.read = updated.read;
    paint(entry);
    changed();
  } catch (error) {
    inboxError.textContent = problemText(error);
  } finally {
    entry.parts.button.disabled = false;
    showEmpty();
  }
}

$("mark-all").addEventListener("click", async () => {
  const button = $("mark-all");
  button.disabled = true;
  inboxError.textContent = "";
  try {
    await api("notifications/read-all", { method: "POST" });
    for (const entry of entries.values()) { entry.item.read = true; paint(entry); }
    $("inbox-news").textContent = t("Every alert is marked as read.");
    changed();
  } catch (error) {
    inboxError.textContent = problemText(error);
  } finally {
    showEmpty();
  }
});

unreadOnly.addEventListener("change", () => loadFirst({ reset: true }));

function arrived(message) {
  const item = normalise(message);
  if (!place(item)) return;
  const text = `${item.title} (${deviceName(item.device_id)})`;
  if (item.urgent) $("inbox-urgent-news").textContent = t("Urgent alert: {text}", { text });
  else $("inbox-news").textContent = t("New alert: {text}", { text });
  showEmpty();
  changed();
}

// ---------------------------------------------------------------- notification rules

const matrixBody = $("matrix-body");
const rulesError = $("rules-error");
const rulesStatus = $("rules-status");
/** channel -> the rule this page manages for it */
let managed = {};
/** type -> channel -> checkbox */
const boxes = {};
/** channel -> the "every event type" checkbox */
const allBoxes = {};

function shortChannelName(channel) {
  return channel === "webpush" ? t("In the browser") : channelName(channel);
}

function buildMatrix() {
  const head = $("matrix-head");
  for (const channel of CHANNELS) head.append(el("th", { scope: "col" }, shortChannelName(channel)));
  const allRow = el("tr", { class: "all-row" }, el("th", { scope: "row" }, t("Every event type")));
  for (const channel of CHANNELS) {
    const id = `all-${channel}`;
    const box = el("input", { type: "checkbox", id });
    box.addEventListener("change", () => {
      for (const type of EVENT_TYPES) boxes[type][channel].checked = box.checked;
      syncAll();
    });
    allBoxes[channel] = box;
    allRow.append(el("td", {}, box, el("label", { for: id, class: "visually-hidden" }, channelLabel(channel, t("Every event type")))));
  }
  const rows = [allRow];
  for (const type of EVENT_TYPES) {
    boxes[type] = {};
    const row = el("tr", {}, el("th", { scope: "row" }, eventTypeName(type)));
    for (const channel of CHANNELS) {
      const id = `rule-${type}-${channel}`;
      const box = el("input", { type: "checkbox", id, dataset: { type, channel } });
      box.addEventListener("change", syncAll);
      boxes[type][channel] = box;
      row.append(el("td", {}, box, el("label", { for: id, class: "visually-hidden" }, channelLabel(channel, eventTypeName(type)))));
    }
    rows.push(row);
  }
  matrixBody.replaceChildren(...rows);
  $("quiet-zone").textContent = t("Times in your time zone ({zone}).", { zone: ZONE });
}

function syncAll() {
  for (const channel of CHANNELS) {
    const ticked = EVENT_TYPES.filter((type) => boxes[type][channel].checked).length;
    allBoxes[channel].checked = ticked === EVENT_TYPES.length;
    allBoxes[channel].indeterminate = ticked > 0 && ticked < EVENT_TYPES.length;
  }
}

function describeRule(rule) {
  const types = rule.event_types.length ? rule.event_types.map(eventTypeName).join(", ") : t("every event");
  const channels = rule.channels.map(channelName).join(", ");
  return t("{types} by {channels}", { types, channels });
}

function showOtherRules(others) {
  $("other-rules").hidden = others.length === 0;
  $("other-rules-list").replaceChildren(...others.map((rule) => {
    const id = `other-rule-${rule.id}`;
    const box = el("input", { type: "checkbox", id, checked: rule.enabled, "aria-describedby": `${id}-what` });
    box.addEventListener("change", async () => {
      box.disabled = true;
      try {
        await api(`notification-rules/${rule.id}`, { method: "PATCH", body: { enabled: box.checked } });
        rule.enabled = box.checked;
      } catch (error) {
        box.checked = rule.enabled;
        rulesError.textContent = problemText(error);
      } finally {
        box.disabled = false;
      }
    });
    const name = rule.name || t("Unnamed rule");
    return el("li", { class: "other-rule" },
      el("div", { class: "field inline" }, box, el("label", { for: id }, name)),
      el("p", { class: "muted", id: `${id}-what` }, describeRule(rule),
        rule.quiet_start ? ` · ${t("quiet {start}–{end}", { start: rule.quiet_start, end: rule.quiet_end })}` : ""));
  }));
}

async function loadRules() {
  const rules = await api("notification-rules");
  managed = {};
  const others = [];
  for (const rule of rules) {
    const channel = rule.name.startsWith(RULE_PREFIX) ? rule.name.slice(RULE_PREFIX.length) : null;
    const ours = channel && CHANNELS.includes(channel) && !managed[channel]
      && rule.channels.length === 1 && rule.channels[0] === channel && rule.device_ids.length === 0;
    if (ours) managed[channel] = rule;
    else others.push(rule);
  }
  for (const channel of CHANNELS) {
    const rule = managed[channel];
    for (const type of EVENT_TYPES) {
      boxes[type][channel].checked = Boolean(rule && rule.enabled && (rule.event_types.length === 0 || rule.event_types.includes(type)));
    }
  }
  const quiet = Object.values(managed).find((rule) => rule.quiet_start);
  $("quiet-start").value = quiet ? quiet.quiet_start : "";
  $("quiet-end").value = quiet ? quiet.quiet_end : "";
  syncAll();
  showOtherRules(others);
  $("rules-fields").disabled = false;
  $("rules-form").setAttribute("aria-busy", "false");
}

$("rules-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  rulesError.textContent = "";
  rulesStatus.textContent = "";
  const start = $("quiet-start").value, end = $("quiet-end").value;
  if (Boolean(start) !== Boolean(end)) {
    rulesError.textContent = t("Give both times of the quiet hours, or neither.");
    (start ? $("quiet-end") : $("quiet-start")).focus();
    return;
  }
  const save = $("save-rules");
  save.disabled = true;
  try {
    for (const channel of CHANNELS) {
      const types = EVENT_TYPES.filter((type) => boxes[type][channel].checked);
      const rule = managed[channel];
      if (types.length === 0) {
        if (rule) await api(`notification-rules/${rule.id}`, { method: "DELETE" });
        continue;
      }
      const fields = {
        // Every type ticked: an empty list, which also covers types added in later versions.
        event_types: types.length === EVENT_TYPES.length ? [] : types,
        quiet_start: start || null,
        quiet_end: end || null,
        time_zone: ZONE,
        enabled: true,
      };
      if (rule) await api(`notification-rules/${rule.id}`, { method: "PATCH", body: fields });
      else await api("notification-rules", { method: "POST", body: { name: RULE_PREFIX + channel, channels: [channel], device_ids: [], ...fields } });
    }
    rulesStatus.textContent = t("Saved.");
  } catch (error) {
    rulesError.textContent = problemText(error);
  } finally {
    save.disabled = false;
    await loadRules().catch(() => {});
  }
});

// ---------------------------------------------------------------- Web Push in this browser

const pushError = $("push-error");

async function showPush() {
  const state = push.permission();
  const subscription = await push.browserSubscription().catch(() => null);
  const on = Boolean(subscription && push.rememberedId());
  $("push-state").textContent =
    state === "unsupported" ? t("This browser cannot show notifications from websites.")
      : on ? t("This browser receives notifications.")
        : state === "denied" ? t("Notifications are blocked for this site. Allow them in your browser's site settings, then try again.")
          : t("This browser does not receive notifications yet.");
  $("push-on").hidden = on;
  $("push-on").disabled = state === "unsupported";
  $("push-off").hidden = !on;
  await showSubscriptions();
}

async function showSubscriptions() {
  const target = $("push-list");
  let rows;
  try {
    rows = await api("push/subscriptions");
  } catch (error) {
    target.replaceChildren(el("li", { class: "muted" }, problemText(error)));
    return;
  }
  if (!rows.length) {
    target.replaceChildren(el("li", { class: "muted" }, t("None yet.")));
    return;
  }
  const mine = push.rememberedId();
  target.replaceChildren(...rows.map((row) => {
    const labelId = `subscription-${row.id}`;
    const remove = el("button", { type: "button", class: "link-button", "aria-describedby": labelId }, t("Remove"));
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      pushError.textContent = "";
      try {
        if (row.id === mine) await push.turnOff();
        else await api(`push/subscriptions/${row.id}`, { method: "DELETE" });
        push.forget(row.id);
      } catch (error) {
        pushError.textContent = problemText(error);
      }
      await showPush();
    });
    return el("li", { class: "subscription", dataset: { testid: "push-subscription" } },
      el("span", { id: labelId },
        row.endpoint_host || t("Unknown push service"),
        row.id === mine ? ` (${t("this browser")})` : "",
        " · ", t("added {date}", { date: format.date(row.created_at) })),
      " ", remove);
  }));
}

$("push-on").addEventListener("click", async () => {
  const button = $("push-on");
  button.disabled = true;
  pushError.textContent = "";
  try {
    await push.turnOn();
  } catch (error) {
    pushError.textContent = error instanceof push.PushProblem ? error.message : problemText(error);
  } finally {
    button.disabled = false;
    await showPush();
  }
});

$("push-off").addEventListener("click", async () => {
  pushError.textContent = "";
  try {
    await push.turnOff();
  } catch (error) {
    pushError.textContent = problemText(error);
  }
  await showPush();
  $("push-on").focus();
});

// ---------------------------------------------------------------- start

buildMatrix();
const connection = $("connection");
connectLive({
  onMessage: (message) => { if (message.type === "notification") arrived(message); },
  onOpen: () => { connection.textContent = ""; loadFirst(); },
  onStatus: (state) => { if (state !== "connected") connection.textContent = t("Connection lost; reconnecting…"); },
});
await loadDevices();
await loadFirst({ reset: true });
await Promise.all([
  loadRules().catch((error) => { rulesError.textContent = problemText(error); }),
  showPush().catch((error) => { pushError.textContent = problemText(error); }),
]);
