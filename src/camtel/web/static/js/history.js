// The history page: the chosen vehicles' day on the map (tracks coloured by speed, stops),
// their trips and stops with figures, downloads, and a replay of all of them at once. The
// replay is driven by one clock in wall time; each marker is placed by interpolating between
// the two fixes around the clock's time (replay.js), never by stepping through point indexes.
import { apiAll, el, format, t, toast } from "./core.js";
import { createMap, setCourse, speedColour, vehicleIcon } from "./map.js";
import { Clock, GAP_MS, Track } from "./replay.js";

const L = window.L;
const MOVING_KMH = 3;
const FOLLOW_EVERY_MS = 250;
const EXPORTS = [["gpx", "GPX"], ["kml", "KML"], ["csv", "CSV"]];

const map = createMap(document.getElementById("map"));
const tracksRenderer = L.canvas({ padding: 0.5 });
const dayInput = document.getElementById("history-day");
const choices = document.getElementById("device-choices");
const filter = document.getElementById("device-filter");
const statusLine = document.getElementById("history-status");
const days = document.getElementById("device-days");
const playButton = document.getElementById("replay-play");
const playLabel = document.getElementById("replay-play-label");
const slider = document.getElementById("replay-time");
const clockText = document.getElementById("replay-clock");
const followBox = document.getElementById("replay-follow");

const clock = new Clock();
/** Fetched days, by "<device id>/<day>": a promise of {positions, trips, stops}. */
const fetched = new Map();
/** What is on the map now: one entry per selected device with fixes. */
let shown = [];
let devices = [];
let generation = 0;
let frame = 0;
let lastFrame = 0;
let lastFollow = 0;
let followTimer = 0;
let dragging = false;

// --- days and times ---------------------------------------------------------------------

function pad(n) { return String(n).padStart(2, "0"); }

function dayOf(date) { return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`; }

/** The viewer's local day: from its local midnight to the next (23 or 25 hours on DST days). */
function dayRange(day) {
  const [y, m, d] = day.split("-").map(Number);
  return [new Date(y, m - 1, d), new Date(y, m - 1, d + 1)];
}

/** ISO 8601 in the viewer's zone with its offset, e.g. 2025-03-30T00:00:00+01:00. */
function isoLocal(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${dayOf(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function rangeQuery(day) {
  const [from, to] = dayRange(day);
  return `from=${encodeURIComponent(isoLocal(from))}&to=${encodeURIComponent(isoLocal(to))}`;
}

function shiftDay(day, by) {
  const [from] = dayRange(day);
  return dayOf(new Date(from.getFullYear(), from.getMonth(), from.getDate() + by));
}

// --- the choice of vehicles and day, kept in the address ---------------------------------

function selectedIds() {
  return [...choices.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
}

function remember() {
  const params = new URLSearchParams();
  for (const id of selectedIds()) params.append("device", id);
  params.set("day", dayInput.value);
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function renderChoices(wanted) {
  choices.replaceChildren(...devices.map((device) => {
    const id = `pick-${device.id}`;
    return el("li", {},
      el("input", { type: "checkbox", id, value: device.id, checked: wanted.has(device.id), onchange: changed }),
      el("label", { for: id }, device.name));
  }));
  document.getElementById("no-devices").hidden = devices.length > 0;
  document.getElementById("device-filter-field").hidden = devices.length <= 8;
}

function changed() {
  nextDay.disabled = dayInput.value >= today;
  if (!dayInput.value) return;
  remember();
  load();
}

// --- loading ----------------------------------------------------------------------------

function fetchDay(id, day) {
  const key = `${id}/${day}`;
  if (!fetched.has(key)) {
    const range = rangeQuery(day);
    const promise = Promise.all([
      apiAll(`devices/${id}/positions?${range}&limit=10000`, { max: 200000 }),
      apiAll(`devices/${id}/trips?${range}`),
      apiAll(`devices/${id}/stops?${range}`),
    ]).then(([positions, trips, stops]) => ({ positions, trips, stops }));
    promise.catch(() => fetched.delete(key)); // a failure is tried again next time
    fetched.set(key, promise);
  }
  return fetched.get(key);
}

async function load() {
  const mine = ++generation;
  const day = dayInput.value;
  const ids = selectedIds();
  if (!ids.length) {
    show([], day);
    statusLine.textContent = devices.length ? t("Choose one or more vehicles.") : "";
    return;
  }
  statusLine.textContent = t("Loading…");
  const answers = await Promise.allSettled(ids.map((id) => fetchDay(id, day)));
  if (mine !== generation) return; // the choice changed meanwhile
  const byId = new Map(devices.map((d) => [d.id, d]));
  const failed = [];
  const loaded = [];
  answers.forEach((answer, i) => {
    const device = byId.get(ids[i]);
    if (answer.status === "fulfilled") loaded.push({ device, ...answer.value });
    else failed.push(device.name);
  });
  show(loaded, day);
  const fixes = shown.reduce((sum, entry) => sum + entry.track.length, 0);
  statusLine.textContent = failed.length ? t("Could not load: {names}", { names: failed.join(", ") })
    : fixes ? t("Positions on this day: {count}", { count: fixes }) : t("No positions on this day.");
}

// --- drawing ----------------------------------------------------------------------------

function clear() {
  for (const entry of shown) entry.layer.remove();
  shown = [];
  days.replaceChildren();
}

/** Speed of the segment from fix i-1 to fix i: the fixes' own, else what the distance implies. */
function segmentSpeed(track, i) {
  const a = track.speeds[i - 1], b = track.speeds[i];
  if (!Number.isNaN(a) && !Number.isNaN(b)) return (a + b) / 2;
  if (!Number.isNaN(a) || !Number.isNaN(b)) return Number.isNaN(a) ? b : a;
  const seconds = (track.times[i] - track.times[i - 1]) / 1000;
  if (seconds <= 0) return null;
  return map.distance([track.lats[i - 1], track.lons[i - 1]], [track.lats[i], track.lons[i]]) / seconds * 3.6;
}

/** The track as runs of one colour (one polyline per run, on the canvas), gaps dashed grey. */
function drawTrack(entry) {
  const { track, layer } = entry;
  const point = (i) => [track.lats[i], track.lons[i]];
  let run = null, colour = null;
  const flush = () => {
    if (run && run.length > 1) {
      const line = L.polyline(run, { renderer: tracksRenderer, color: colour, weight: 5, opacity: 0.9 });
      line.on("click", (event) => seekTo(track.times[track.nearest(event.latlng.lat, event.latlng.lng)]));
      layer.addLayer(line);
    }
    run = null;
  };
  for (let i = 1; i < track.length; i++) {
    if (track.times[i] - track.times[i - 1] > GAP_MS) {
      flush();
      layer.addLayer(L.polyline([point(i - 1), point(i)], { renderer: tracksRenderer, color: "#6b7280", weight: 2, dashArray: "4 6", interactive: false }));
      continue;
    }
    const next = speedColour(segmentSpeed(track, i));
    if (next !== colour || !run) { flush(); colour = next; run = [point(i - 1)]; }
    run.push(point(i));
  }
  flush();
}

function stopMarker(entry, stop) {
  const label = t("Stop {start}–{end}, {duration}", {
    start: format.time(stop.start_time), end: format.time(stop.end_time), duration: format.duration(stop.duration_s),
  });
  const icon = L.divIcon({ className: "stop-marker", html: el("span", { "aria-hidden": "true" }, "P"), iconSize: [20, 20], iconAnchor: [10, 10] });
  const marker = L.marker([stop.latitude, stop.longitude], { icon, keyboard: true, title: `${entry.device.name}: ${label}` });
  marker.on("click", () => seekTo(Date.parse(stop.start_time)));
  entry.layer.addLayer(marker);
  const node = marker.getElement();
  if (node) node.setAttribute("aria-label", `${entry.device.name}: ${label}`);
}

function replayMarker(entry) {
  const first = entry.track.at(entry.track.start);
  const marker = L.marker([first.lat, first.lon], { icon: vehicleIcon("moving", first.course), interactive: false, keyboard: false, zIndexOffset: 1000 });
  marker.bindTooltip(el("span", {}, entry.device.name), { permanent: true, direction: "right", offset: [12, 0], className: "replay-label" });
  entry.layer.addLayer(marker);
  const node = marker.getElement();
  node.dataset.testid = "replay-marker";
  node.dataset.deviceId = entry.device.id;
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", entry.device.name);
  entry.marker = marker;
  entry.node = node;
  entry.arrow = node.querySelector(".arrow");
}

function show(loaded, day) {
  clear();
  const bounds = L.latLngBounds([]);
  for (const answer of loaded) {
    const entry = { ...answer, track: new Track(answer.positions), layer: L.layerGroup().addTo(map) };
    days.append(daySection(entry, day));
    if (!entry.track.length) { entry.layer.remove(); continue; }
    drawTrack(entry);
    for (const stop of entry.stops) stopMarker(entry, stop);
    replayMarker(entry);
    for (let i = 0; i < entry.track.length; i++) bounds.extend([entry.track.lats[i], entry.track.lons[i]]);
    shown.push(entry);
  }
  const starts = shown.map((e) => e.track.start), ends = shown.map((e) => e.track.end);
  if (shown.length) {
    clock.setRange(Math.min(...starts), Math.max(...ends));
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
  } else {
    clock.pause();
    clock.setRange(0, 0);
  }
  slider.min = String(clock.start);
  slider.max = String(clock.end);
  slider.disabled = playButton.disabled = !shown.length;
  place();
  showPlaying();
}

// --- the panel: each vehicle's day ------------------------------------------------------

function daySection(entry, day) {
  const { device, track, trips, stops } = entry;
  const headingId = `day-${device.id}`;
  let top = trips.reduce((max, trip) => Math.max(max, trip.max_speed_kmh || 0), 0);
  for (const speed of track.speeds) if (speed > top) top = speed;
  const facts = [
    [t("Distance"), format.distance(trips.reduce((sum, trip) => sum + (trip.distance_m || 0), 0))],
    [t("Driving time"), format.duration(trips.reduce((sum, trip) => sum + (trip.driving_s || 0), 0))],
    [t("Top speed"), track.length ? format.speed(top) : "–"],
  ];
  const items = [
    ...trips.map((trip) => ({ at: Date.parse(trip.start.time), node: tripItem(entry, trip) })),
    ...stops.map((stop) => ({ at: Date.parse(stop.start_time), node: stopItem(entry, stop) })),
  ].sort((a, b) => a.at - b.at).map((item) => item.node);
  const range = rangeQuery(day);
  return el("section", { class: "device-day", "aria-labelledby": headingId },
    el("h3", { id: headingId }, device.name),
    track.length ? null : el("p", { class: "empty" }, t("No positions on this day.")),
    el("dl", { class: "facts" }, facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
    items.length ? el("ol", { class: "timeline", "aria-label": t("Trips and stops of {name}", { name: device.name }) }, items)
      : track.length ? el("p", { class: "muted" }, t("No trips on this day.")) : null,
    el("p", { class: "downloads" }, t("Download:"), " ", EXPORTS.flatMap(([kind, label]) => [
      el("a", {
        class: "button",
        href: `/api/v1/devices/${device.id}/positions/export?format=${kind}&${range}`,
        download: "",
        "aria-label": t("Download {name} as {format}", { name: device.name, format: label }),
      }, label), " ",
    ])));
}

function tripItem(entry, trip) {
  const figures = [format.distance(trip.distance_m), format.duration(trip.duration_s), t("top speed {speed}", { speed: format.speed(trip.max_speed_kmh) })];
  return el("li", { class: "trip" }, el("button", { type: "button", onclick: () => showTrip(entry, trip) },
    el("span", { class: "when" }, t("Trip {start}–{end}", { start: format.time(trip.start.time), end: format.time(trip.end.time) })),
    el("span", { class: "figures" }, figures.join(" · "))));
}

function stopItem(entry, stop) {
  return el("li", { class: "stop" }, el("button", { type: "button", onclick: () => { map.panTo([stop.latitude, stop.longitude]); seekTo(Date.parse(stop.start_time)); } },
    el("span", { class: "when" }, t("Stop {start}–{end}", { start: format.time(stop.start_time), end: format.time(stop.end_time) })),
    el("span", { class: "figures" }, format.duration(stop.duration_s))));
}

/** Zoom to a trip and put the replay at its start. */
function showTrip(entry, trip) {
  const start = Date.parse(trip.start.time), end = Date.parse(trip.end.time);
  const [first, last] = entry.track.between(start, end);
  const points = [];
  for (let i = first; i <= last; i++) points.push([entry.track.lats[i], entry.track.lons[i]]);
  if (!points.length) points.push([trip.start.latitude, trip.start.longitude], [trip.end.latitude, trip.end.longitude]);
  map.fitBounds(L.latLngBounds(points), { padding: [40, 40], maxZoom: 17 });
  seekTo(start);
}

// --- the replay -------------------------------------------------------------------------

function round7(value) { return String(Math.round(value * 1e7) / 1e7); }

/** Put every marker where its vehicle was at the clock's time, and the controls with it. */
function place() {
  const time = clock.time;
  for (const entry of shown) {
    const at = entry.track.at(time);
    entry.marker.setLatLng([at.lat, at.lon]);
    const node = entry.node;
    node.dataset.lat = round7(at.lat);
    node.dataset.lon = round7(at.lon);
    node.dataset.ms = String(Math.round(time));
    node.classList.toggle("stale", at.stale);
    node.classList.toggle("status-moving", !at.stale && at.speed > MOVING_KMH);
    node.classList.toggle("status-parked", at.stale || !(at.speed > MOVING_KMH));
    if (entry.arrow) setCourse(entry.arrow, at.course);
  }
  if (!dragging) slider.value = String(time);
  const text = shown.length ? format.time(time) : "–";
  if (clockText.textContent !== text) {
    clockText.textContent = text;
    slider.setAttribute("aria-valuetext", shown.length ? format.dateTime(time) : text);
  }
  clockText.dataset.ms = String(Math.round(time));
  follow();
}

/** Keep the vehicles in view: pan (one) or zoom out (several) once one nears the edge. */
function follow(force = false) {
  if (!followBox.checked || !shown.length) return;
  const now = performance.now();
  const wait = lastFollow + FOLLOW_EVERY_MS - now;
  if (!force && wait > 0) {
    // Too soon after the last move: do it a little later (a paused replay has no next frame).
    if (!followTimer) followTimer = setTimeout(() => { followTimer = 0; follow(); }, wait);
    return;
  }
  lastFollow = now;
  const points = shown.map((entry) => entry.marker.getLatLng());
  const inner = map.getBounds().pad(-0.2);
  if (!force && points.every((p) => inner.contains(p))) return;
  if (points.length === 1) map.panTo(points[0], { animate: true, duration: 0.25 });
  else map.fitBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: Math.max(map.getZoom(), 10), animate: true });
}

function tick(now) {
  frame = 0;
  const elapsed = Math.min(1000, Math.max(0, now - lastFrame)); // a hidden tab does not jump ahead
  lastFrame = now;
  const ended = clock.advance(elapsed);
  place();
  if (ended) showPlaying();
  if (clock.playing) frame = requestAnimationFrame(tick);
}

function showPlaying() {
  playLabel.textContent = clock.playing ? t("Pause") : t("Play");
  playButton.classList.toggle("playing", clock.playing);
}

function play() {
  clock.play();
  lastFrame = performance.now();
  if (clock.playing && !frame) frame = requestAnimationFrame(tick);
  showPlaying();
}

function pause() {
  clock.pause();
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  showPlaying();
}

function seekTo(time) {
  clock.seek(time);
  place();
}

playButton.addEventListener("click", () => (clock.playing ? pause() : play()));
for (const radio of document.querySelectorAll("input[name=rate]")) {
  radio.addEventListener("change", () => { if (radio.checked) clock.rate = Number(radio.value); });
  if (radio.checked) clock.rate = Number(radio.value);
}
slider.addEventListener("input", () => seekTo(Number(slider.value)));
slider.addEventListener("pointerdown", () => { dragging = true; });
window.addEventListener("pointerup", () => { dragging = false; });
slider.addEventListener("keydown", (event) => {
  // Arrows move a second (the slider's step); these move further through a long day.
  const moves = { PageUp: 5 * 60000, PageDown: -5 * 60000 };
  let by = moves[event.key];
  if (event.shiftKey && event.key === "ArrowRight") by = 60000;
  if (event.shiftKey && event.key === "ArrowLeft") by = -60000;
  if (by === undefined) return;
  event.preventDefault();
  seekTo(clock.time + by);
});
followBox.addEventListener("change", () => follow(true));
map.on("zoomend", () => follow()); // a pan made while a zoom was animating is undone by its end
map.on("dragstart", () => {
  if (!followBox.checked) return;
  followBox.checked = false; // the person wants to look elsewhere
  toast(t("Follow is off while you move the map."));
});

// --- the choice controls ----------------------------------------------------------------

const today = dayOf(new Date());
const nextDay = document.getElementById("next-day");
dayInput.max = today;
dayInput.addEventListener("change", changed);
document.getElementById("previous-day").addEventListener("click", () => { dayInput.value = shiftDay(dayInput.value || today, -1); changed(); });
nextDay.addEventListener("click", () => { dayInput.value = shiftDay(dayInput.value || today, 1); changed(); });
filter.addEventListener("input", () => {
  const wanted = filter.value.trim().toLocaleLowerCase();
  for (const item of choices.children) item.hidden = wanted !== "" && !item.textContent.toLocaleLowerCase().includes(wanted);
});

const legend = document.getElementById("speed-legend");
legend.replaceChildren(...[[0, "< 30"], [30, "30–60"], [60, "60–90"], [90, "90–120"], [120, "≥ 120"]].map(([speed, text]) => {
  const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
  swatch.style.setProperty("background", speedColour(speed));
  return el("li", {}, swatch, `${text} km/h`);
}));

async function start() {
  const params = new URLSearchParams(location.search);
  const day = params.get("day");
  dayInput.value = day && /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : today;
  nextDay.disabled = dayInput.value >= today;
  try {
    devices = await apiAll("devices");
  } catch {
    statusLine.textContent = t("Could not load the vehicles.");
    return;
  }
  devices.sort((a, b) => a.name.localeCompare(b.name));
  const known = new Set(devices.map((d) => d.id));
  const wanted = new Set(params.getAll("device").filter((id) => known.has(id)));
  if (!wanted.size && devices.length) wanted.add(devices[0].id);
  renderChoices(wanted);
  showPlaying();
  await load();
}

start();
