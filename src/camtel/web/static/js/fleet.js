// The fleet page: every vehicle on a live map and in a list, kept current over the live socket.
// Updates are collected and applied once per animation frame, so that thousands of devices
// reporting every second cost one short task per frame, not one per message.
import { api, apiAll, el, format, t } from "./core.js";
import { connectLive } from "./live.js";
import { FleetLayer } from "./fleet-layer.js";
import { createMap } from "./map.js";

const OFFLINE_AFTER_MS = 10 * 60 * 1000;
const MOVING_KMH = 3;

const map = createMap(document.getElementById("map"));
const markers = new FleetLayer(map, { onSelect: (id) => select(id, false), label: (name) => name });
const list = document.getElementById("device-list");
const summary = document.getElementById("fleet-summary");
const connection = document.getElementById("connection");
const details = document.getElementById("device-details");
const filter = document.getElementById("device-filter");

/** id -> {device, fix, cells, status} */
const vehicles = new Map();
const pending = new Map();
let frameRequested = false;
let selected = null;
let fitted = false;

function statusOf(vehicle) {
  const seen = vehicle.fix ? new Date(vehicle.fix.time).getTime() : vehicle.device.last_seen_at ? new Date(vehicle.device.last_seen_at).getTime() : 0;
  if (!seen) return "unknown";
  if (Date.now() - seen > OFFLINE_AFTER_MS) return "offline";
  return vehicle.fix && (vehicle.fix.speed_kmh || 0) > MOVING_KMH ? "moving" : "parked";
}

const STATUS_LABEL = {
  moving: () => t("Moving"),
  parked: () => t("Parked"),
  offline: () => t("Offline"),
  unknown: () => t("Never seen"),
};

function makeRow(vehicle) {
  const name = el("span", { class: "name" }, vehicle.device.name);
  const status = el("span", { class: "status" });
  const speed = el("span", { class: "speed" });
  const seen = el("span", { class: "seen muted" });
  const button = el("button", { type: "button", class: "device-row", dataset: { deviceId: vehicle.device.id }, "aria-pressed": "false" },
    el("span", { class: "dot", "aria-hidden": "true" }), name, status, speed, seen);
  button.addEventListener("click", () => select(vehicle.device.id, true));
  const row = el("li", {}, button);
  vehicle.cells = { button, status, speed, seen };
  return row;
}

/** Write `text` into `node` only when it changed (most updates change only the position). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function paint(vehicle) {
  const status = statusOf(vehicle);
  const changed = status !== vehicle.status;
  vehicle.status = status;
  const { button, status: statusCell, speed, seen } = vehicle.cells;
  if (changed) {
    button.dataset.status = status;
    statusCell.textContent = STATUS_LABEL[status]();
  }
  setText(speed, vehicle.fix ? format.speed(vehicle.fix.speed_kmh) : "");
  setText(seen, vehicle.fix ? format.ago(vehicle.fix.time) : vehicle.device.last_seen_at ? format.ago(vehicle.device.last_seen_at) : "");
  if (!vehicle.fix) return;
  markers.set(vehicle.device.id, {
    latitude: vehicle.fix.latitude,
    longitude: vehicle.fix.longitude,
    course: vehicle.fix.course,
    status,
    name: vehicle.device.name,
  });
}

/** Apply what arrived, for at most FRAME_BUDGET_MS a frame: a burst of thousands of reports
 * is spread over a few frames instead of blocking the page (a `null` entry only re-derives a
 * vehicle's status, for vehicles that went quiet). */
const FRAME_BUDGET_MS = 8;

function flush() {
  frameRequested = false;
  const started = performance.now();
  for (const [id, fix] of pending) {
    pending.delete(id);
    const vehicle = vehicles.get(id);
    if (!vehicle) continue;
    const late = fix && vehicle.fix && new Date(vehicle.fix.time) > new Date(fix.time);
    if (fix && !late) vehicle.fix = fix;
    paint(vehicle);
    if (selected === id) showFacts(vehicle);
    if (performance.now() - started > FRAME_BUDGET_MS) break;
  }
  summarise();
  if (pending.size) schedule();
}

function schedule() {
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(flush);
  }
}

function queue(fix) {
  pending.set(fix.device_id, fix);
  schedule();
}

function summarise() {
  const counts = { moving: 0, parked: 0, offline: 0, unknown: 0 };
  for (const vehicle of vehicles.values()) counts[vehicle.status || "unknown"] += 1;
  summary.textContent = t("{moving} moving, {parked} parked, {offline} offline", counts);
}

async function load() {
  const [devices, latest] = await Promise.all([apiAll("devices"), api("positions/latest")]);
  const fixes = new Map(latest.map((fix) => [fix.device_id, fix]));
  const known = new Set(devices.map((d) => d.id));
  for (const [id, vehicle] of vehicles) {
    if (!known.has(id)) { markers.delete(id); vehicle.cells.button.parentElement.remove(); vehicles.delete(id); }
  }
  devices.sort((a, b) => a.name.localeCompare(b.name));
  const rows = [];
  for (const device of devices) {
    let vehicle = vehicles.get(device.id);
    if (!vehicle) {
      vehicle = { device, fix: null };
      vehicles.set(device.id, vehicle);
      rows.push(makeRow(vehicle));
    }
    vehicle.device = device;
    const fix = fixes.get(device.id);
    if (fix && (!vehicle.fix || new Date(fix.time) >= new Date(vehicle.fix.time))) vehicle.fix = fix;
    paint(vehicle);
  }
  list.append(...rows);
  document.getElementById("no-devices").hidden = devices.length > 0;
  summarise();
  if (!fitted) {
    const points = [...vehicles.values()].filter((v) => v.fix).map((v) => [v.fix.latitude, v.fix.longitude]);
    if (points.length) { map.fitBounds(points, { padding: [40, 40], maxZoom: 14 }); fitted = true; }
  }
}

async function select(id, pan) {
  const vehicle = vehicles.get(id);
  if (!vehicle) return;
  if (selected && vehicles.get(selected)) vehicles.get(selected).cells.button.setAttribute("aria-pressed", "false");
  selected = id;
  vehicle.cells.button.setAttribute("aria-pressed", "true");
  details.hidden = false;
  document.getElementById("details-heading").textContent = vehicle.device.name;
  document.getElementById("details-history").href = `/app/history?device=${encodeURIComponent(id)}`;
  showFacts(vehicle);
  if (pan && vehicle.fix) map.panTo([vehicle.fix.latitude, vehicle.fix.longitude]);
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const from = today.toISOString(), to = new Date().toISOString();
  const recordings = document.getElementById("details-recordings");
  const alerts = document.getElementById("details-alerts");
  recordings.replaceChildren(el("li", { class: "muted" }, t("Loading…")));
  alerts.replaceChildren(el("li", { class: "muted" }, t("Loading…")));
  const [trips, media, events] = await Promise.all([
    api(`devices/${id}/trips?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`).catch(() => []),
    api(`media?device_id=${id}&limit=5`).catch(() => []),
    api(`events?device_id=${id}&limit=5`).catch(() => []),
  ]);
  if (selected !== id) return;
  vehicle.todayDistance = trips.reduce((sum, trip) => sum + (trip.distance_m || 0), 0);
  showFacts(vehicle);
  recordings.replaceChildren(...(media.length ? media.map((m) => el("li", {}, el("a", { href: `/app/recordings/${m.id}` }, m.filename || t("Recording"), " · ", format.dateTime(m.start_time || m.created_at)))) : [el("li", { class: "muted" }, t("None"))]));
  alerts.replaceChildren(...(events.length ? events.map((e) => el("li", { class: e.urgent ? "urgent" : "" }, eventLabel(e), " · ", format.dateTime(e.time))) : [el("li", { class: "muted" }, t("None"))]));
}

export function eventLabel(event) {
  const names = {
    geofence_enter: t("Entered a geofence"), geofence_exit: t("Left a geofence"), overspeed: t("Speeding"),
    alarm: t("Alarm"), harsh_braking: t("Harsh braking"), harsh_acceleration: t("Harsh acceleration"),
    harsh_event: t("Harsh driving"), collision: t("Collision"), ignition_on: t("Ignition on"), ignition_off: t("Ignition off"),
    device_online: t("Came online"), device_offline: t("Went offline"), motion_start: t("Started moving"), motion_stop: t("Stopped"),
  };
  const base = names[event.type] || event.type;
  const fence = event.attributes && event.attributes.fence_name;
  return fence ? `${base}: ${fence}` : base;
}

function showFacts(vehicle) {
  const facts = document.getElementById("details-facts");
  const fix = vehicle.fix;
  const rows = [
    [t("Status"), STATUS_LABEL[vehicle.status || "unknown"]()],
    [t("Last fix"), fix ? format.dateTime(fix.time) : "–"],
    [t("Position"), fix ? `${format.coordinate(fix.latitude)}, ${format.coordinate(fix.longitude)}` : "–"],
    [t("Speed"), fix ? format.speed(fix.speed_kmh) : "–"],
    [t("Distance today"), vehicle.todayDistance == null ? "…" : format.distance(vehicle.todayDistance)],
  ];
  facts.replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

document.getElementById("close-details").addEventListener("click", () => {
  details.hidden = true;
  if (selected && vehicles.get(selected)) vehicles.get(selected).cells.button.setAttribute("aria-pressed", "false");
  selected = null;
});

filter.addEventListener("input", () => {
  const wanted = filter.value.trim().toLocaleLowerCase();
  for (const vehicle of vehicles.values()) {
    vehicle.cells.button.parentElement.hidden = wanted !== "" && !vehicle.device.name.toLocaleLowerCase().includes(wanted);
  }
});

// Statuses age without messages (a vehicle goes offline by silence): re-derive them now and
// then, through the same frame budget as the reports.
setInterval(() => {
  for (const id of vehicles.keys()) if (!pending.has(id)) pending.set(id, null);
  schedule();
}, 30000);

await load();
let opened = 0;
connectLive({
  onMessage: (message) => {
    if (message.type === "position") queue(message);
    else if (message.type === "notification") document.dispatchEvent(new CustomEvent("camtel:notifications-changed"));
  },
  // The first connection follows the load above; a reconnection resyncs what was missed.
  onOpen: () => { connection.textContent = ""; if (opened++) load(); },
  onStatus: (state) => { if (state !== "connected") connection.textContent = t("Connection lost; reconnecting…"); },
});
