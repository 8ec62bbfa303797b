// The fleet page: every vehicle on a live map and in a list, kept current over the live socket.
// Updates are collected and applied once per animation frame, so that thousands of devices
// reporting every second cost one short task per frame, not one per message.
import { api, apiAll, el, format, t } from "./core.js";
import { connectLive } from "./live.js";
import { createMap, setCourse, vehicleIcon } from "./map.js";

const L = window.L;
const OFFLINE_AFTER_MS = 10 * 60 * 1000;
const MOVING_KMH = 3;

const map = createMap(document.getElementById("map"));
const list = document.getElementById("device-list");
const summary = document.getElementById("fleet-summary");
const connection = document.getElementById("connection");
const details = document.getElementById("device-details");
const filter = document.getElementById("device-filter");

/** id -> {device, fix, marker, row, status} */
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

function makeMarker(vehicle) {
  const fix = vehicle.fix;
  const marker = L.marker([fix.latitude, fix.longitude], { icon: vehicleIcon(vehicle.status, fix.course), keyboard: true, title: vehicle.device.name, riseOnHover: true });
  marker.on("click", () => select(vehicle.device.id, false));
  marker.addTo(map);
  const node = marker.getElement();
  node.dataset.testid = "device-marker";
  node.dataset.deviceId = vehicle.device.id;
  node.setAttribute("role", "button");
  node.setAttribute("aria-label", vehicle.device.name);
  vehicle.marker = marker;
  vehicle.arrow = node.querySelector(".arrow");
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
  if (!vehicle.marker) makeMarker(vehicle);
  else vehicle.marker.setLatLng([vehicle.fix.latitude, vehicle.fix.longitude]);
  const node = vehicle.marker.getElement();
  if (node) {
    node.dataset.lat = String(vehicle.fix.latitude);
    node.dataset.lon = String(vehicle.fix.longitude);
    node.dataset.time = vehicle.fix.time;
    if (changed || !node.classList.contains(`status-${status}`)) {
      node.classList.remove("status-moving", "status-parked", "status-offline", "status-unknown");
      node.classList.add(`status-${status}`);
    }
  }
  if (vehicle.arrow && vehicle.course !== vehicle.fix.course) {
    vehicle.course = vehicle.fix.course;
    setCourse(vehicle.arrow, vehicle.fix.course);
  }
}

function flush() {
  frameRequested = false;
  for (const [id, fix] of pending) {
    const vehicle = vehicles.get(id);
    if (!vehicle) continue;
    if (vehicle.fix && new Date(vehicle.fix.time) > new Date(fix.time)) continue; // late delivery
    vehicle.fix = fix;
    paint(vehicle);
    if (selected === id) showFacts(vehicle);
  }
  pending.clear();
  summarise();
}

function queue(fix) {
  pending.set(fix.device_id, fix);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(flush);
  }
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
    if (!known.has(id)) { vehicle.marker && vehicle.marker.remove(); vehicle.cells.button.parentElement.remove(); vehicles.delete(id); }
  }
  devices.sort((a, b) => a.name.localeCompare(b.name));
  const rows = [];
  for (const device of devices) {
    let vehicle = vehicles.get(device.id);
    if (!vehicle) {
      vehicle = { device, fix: null, marker: null };
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

// Statuses age without messages (a vehicle goes offline by silence): re-derive them now and then.
setInterval(() => { for (const vehicle of vehicles.values()) paint(vehicle); summarise(); }, 30000);

await load();
connectLive({
  onMessage: (message) => {
    if (message.type === "position") queue(message);
    else if (message.type === "notification") document.dispatchEvent(new CustomEvent("camtel:notifications-changed"));
  },
  onOpen: () => { connection.textContent = ""; load(); },
  onStatus: (state) => { if (state !== "connected") connection.textContent = t("Connection lost; reconnecting…"); },
});
