// The geofences page: every fence on the map and in a list; draw areas, circles and corridors
// with leaflet-geoman (through our own labelled buttons), or give a circle by its numbers, or
// import a file; assign fences to vehicles and groups; edit their shape and fields; delete.
import { api, apiAll, el, format, lang, t, toast } from "./core.js";
import { createMap } from "./map.js";
import { DEFAULT_WIDTH_M } from "./fence-import.js";
import { setupImport } from "./fence-import-review.js";
import { COLOURS, DRAFT_STYLE, areaOf, breachText, fenceLayer, shapeText, styleFor, widen } from "./fence-layers.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = {
  mon: () => t("Monday"), tue: () => t("Tuesday"), wed: () => t("Wednesday"), thu: () => t("Thursday"),
  fri: () => t("Friday"), sat: () => t("Saturday"), sun: () => t("Sunday"),
};

// ---------------------------------------------------------------- the map and geoman

const mapElement = $("map");
const map = createMap(mapElement);
// The world beneath is scenery: never snapped to or edited.
map.on("layeradd", ({ layer }) => {
  if (layer.options && layer.options.pane === "world") Object.assign(layer.options, { pmIgnore: true, snapIgnore: true });
});
// geoman's hints beside the pointer, in our words (and the polite form in German).
map.pm.setLang("camtel", {
  tooltips: {
    firstVertex: t("Click to place the first point"),
    continueLine: t("Click to place the next point"),
    finishLine: t("Click the last point again to finish"),
    finishPoly: t("Click the first corner to close the area"),
    startCircle: t("Click to place the centre"),
    finishCircle: t("Click to place the edge"),
  },
}, lang === "de" ? "de" : "en");
map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, finishOn: null, pathOptions: DRAFT_STYLE, templineStyle: { color: COLOURS.draft }, hintlineStyle: { color: COLOURS.draft, dashArray: "5 5" } });

// geoman's handles are Leaflet markers (role "button", focusable) that only a mouse can drag:
// they get a name, and leave the tab order to the form's own fields (radius, width, ...).
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (!(node instanceof HTMLElement) || !node.classList.contains("marker-icon")) continue;
      node.setAttribute("aria-label", node.classList.contains("marker-icon-middle") ? t("Add a corner here (drag with the mouse)") : t("Corner of the shape (drag with the mouse)"));
      node.tabIndex = -1;
    }
  }
}).observe(map.getPane("markerPane"), { childList: true });

/** id -> {fence, layer, row} */
const fences = new Map();
const devices = new Map();
const groups = new Map();
let selected = null;

// ---------------------------------------------------------------- describing fences

function scopeText(fence) {
  const names = [
    ...fence.device_ids.map((id) => (devices.get(id) || { name: t("Unknown vehicle") }).name),
    ...fence.group_ids.map((id) => t("group {name}", { name: (groups.get(id) || { name: "?" }).name })),
  ];
  if (!names.length) return t("Every vehicle");
  return names.length > 3 ? t("{names} and {count} more", { names: names.slice(0, 3).join(", "), count: names.length - 3 }) : names.join(", ");
}

map.on("zoomend", () => {
  for (const entry of fences.values()) if (entry.fence.kind === "corridor") widen(map, entry.layer, entry.fence.width_m);
  if (form && form.kind === "corridor") widen(map, form.layer, Number($("fence-width").value) || DEFAULT_WIDTH_M);
});

// ---------------------------------------------------------------- the list

const list = $("fence-list");

function makeRow(entry) {
  const id = entry.fence.id;
  const nameId = `fence-name-${id}`;
  const name = el("span", { class: "fence-name", id: nameId });
  const facts = el("p", { class: "fence-facts muted" });
  const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
  const show = el("button", { type: "button", "aria-describedby": nameId }, t("Show on map"));
  const edit = el("button", { type: "button", "aria-describedby": nameId }, t("Edit"));
  const remove = el("button", { type: "button", class: "danger", "aria-describedby": nameId }, t("Delete"));
  show.addEventListener("click", () => select(id, { pan: true }));
  edit.addEventListener("click", () => startEditing(id));
  remove.addEventListener("click", () => confirmDelete(id, remove));
  const row = el("li", { class: "fence-item", dataset: { fenceId: id, testid: "geofence" } },
    el("div", { class: "fence-head" }, swatch, name), facts, el("div", { class: "row-actions" }, show, edit, remove));
  entry.row = row;
  entry.cells = { name, facts, swatch, edit };
  return row;
}

function paintRow(entry) {
  const { fence, cells } = entry;
  cells.name.textContent = fence.name;
  cells.swatch.dataset.breach = fence.breach_on || "none";
  const parts = [shapeText(fence), scopeText(fence), breachText(fence)];
  if (fence.speed_limit_kmh) parts.push(t("speed limit {speed}", { speed: format.speed(fence.speed_limit_kmh) }));
  if (fence.schedule) parts.push(t("only at certain times"));
  cells.facts.textContent = parts.join(" · ");
}

function summarise() {
  $("no-fences").hidden = fences.size > 0;
  $("fence-summary").textContent = fences.size ? t("{count} in all", { count: fences.size }) : "";
}

function put(fence) {
  let entry = fences.get(fence.id);
  if (entry) {
    entry.layer.remove();
    entry.fence = fence;
  } else {
    entry = { fence };
    fences.set(fence.id, entry);
    makeRow(entry);
  }
  entry.layer = fenceLayer(map, fence, () => select(fence.id, { pan: false }));
  paintRow(entry);
  // Keep the list in name order.
  const rows = [...fences.values()].sort((a, b) => a.fence.name.localeCompare(b.fence.name));
  const index = rows.indexOf(entry);
  const after = rows[index + 1];
  list.insertBefore(entry.row, after && after.row.parentElement === list ? after.row : null);
  summarise();
  return entry;
}

function select(id, { pan }) {
  const entry = fences.get(id);
  if (!entry) return;
  if (selected && fences.get(selected)) {
    const old = fences.get(selected);
    old.row.removeAttribute("aria-current");
    old.layer.setStyle({ weight: old.fence.kind === "corridor" ? old.layer.options.weight : 2 });
  }
  selected = id;
  entry.row.setAttribute("aria-current", "true");
  if (entry.fence.kind !== "corridor") entry.layer.setStyle({ weight: 4 });
  if (pan) map.fitBounds(entry.layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
  else entry.row.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- drawing

const DRAW = {
  polygon: { shape: "Polygon", button: $("draw-polygon"), hint: () => t("Click on the map to place the corners. Click the first corner again, or press Finish shape, to close the area.") },
  circle: { shape: "Circle", button: $("draw-circle"), hint: () => t("Click on the map for the centre, then click again where the edge should be.") },
  corridor: { shape: "Line", button: $("draw-line"), hint: () => t("Click on the map along the route. Click the last point again, or press Finish shape, to end the corridor.") },
};
const KIND_OF_SHAPE = { Polygon: "polygon", Circle: "circle", Line: "corridor" };
let drawing = null;

function showDrawing(kind) {
  drawing = kind;
  for (const [name, spec] of Object.entries(DRAW)) spec.button.setAttribute("aria-pressed", String(name === kind));
  $("draw-finish").hidden = !kind || kind === "circle";
  $("draw-cancel").hidden = !kind;
  $("draw-hint").textContent = kind ? DRAW[kind].hint() : "";
  mapElement.classList.toggle("is-drawing", Boolean(kind));
}

function startDrawing(kind) {
  if (drawing === kind) { stopDrawing(); return; }
  closeForm();
  map.pm.disableDraw();
  map.pm.enableDraw(DRAW[kind].shape, { allowSelfIntersection: kind !== "polygon" });
  showDrawing(kind);
}

function stopDrawing() {
  map.pm.disableDraw();
  showDrawing(null);
}

for (const [kind, spec] of Object.entries(DRAW)) spec.button.addEventListener("click", () => startDrawing(kind));
$("draw-cancel").addEventListener("click", stopDrawing);
$("draw-finish").addEventListener("click", () => {
  if (!drawing) return;
  const tool = map.pm.Draw[DRAW[drawing].shape];
  if (tool && typeof tool._finishShape === "function") tool._finishShape();
});
document.addEventListener("keydown", (key) => { if (key.key === "Escape" && drawing) stopDrawing(); });
map.on("pm:drawend", () => { if (drawing) showDrawing(null); });
map.on("pm:create", ({ shape, layer }) => {
  showDrawing(null);
  const kind = KIND_OF_SHAPE[shape];
  if (!kind) { layer.remove(); return; }
  openForm({ mode: "new", kind, layer });
});

// ---------------------------------------------------------------- the form

const fenceForm = $("fence-form");
const FIELD_ERRORS = {
  name: ["fence-name", "fence-name-error"],
  radius_m: ["fence-radius", "fence-radius-error"],
  width_m: ["fence-width", "fence-width-error"],
  device_ids: [null, "fence-devices-error"],
  group_ids: [null, "fence-groups-error"],
  speed_limit_kmh: ["fence-speed", "fence-speed-error"],
  schedule: ["schedule-start", "fence-schedule-error"],
};
/** The open form: {mode: "new"|"edit", kind, layer, id?, original?} */
let form = null;

function buildChoices() {
  const deviceList = $("device-list");
  const sorted = [...devices.values()].sort((a, b) => a.name.localeCompare(b.name));
  deviceList.replaceChildren(...(sorted.length ? sorted.map((device) => choice("device", device)) : [el("p", { class: "muted" }, t("No vehicles yet."))]));
  const groupList = $("group-list");
  $("group-choices").hidden = groups.size === 0;
  groupList.replaceChildren(...[...groups.values()].sort((a, b) => a.name.localeCompare(b.name)).map((group) => choice("group", group)));
  $("day-list").replaceChildren(...DAYS.map((day) => el("div", { class: "field inline" },
    el("input", { type: "checkbox", id: `day-${day}`, value: day, checked: true }),
    el("label", { for: `day-${day}` }, DAY_NAMES[day]()))));
  $("schedule-zone").textContent = t("Times in your time zone ({zone}).", { zone: ZONE });
}

function choice(kind, item) {
  const id = `${kind}-choice-${item.id}`;
  return el("div", { class: "field inline" },
    el("input", { type: "checkbox", id, value: item.id, dataset: { kind } }),
    el("label", { for: id }, item.name));
}

function clearErrors() {
  $("fence-error").textContent = "";
  for (const [input, error] of Object.values(FIELD_ERRORS)) {
    $(error).textContent = "";
    if (input) $(input).removeAttribute("aria-invalid");
  }
}

function fieldError(field, message) {
  const [input, error] = FIELD_ERRORS[field] || [];
  if (!error) return null;
  $(error).textContent = message;
  if (input) $(input).setAttribute("aria-invalid", "true");
  if (field === "schedule") $("schedule").open = true;
  return input ? $(input) : null;
}

function openForm({ mode, kind, layer, id = null }) {
  closeForm();
  form = { mode, kind, layer, id };
  const fence = id ? fences.get(id).fence : null;
  clearErrors();
  $("form-heading").textContent = mode === "edit" ? t("Edit geofence") : t("New geofence");
  $("form-shape").textContent = {
    polygon: t("An area. Drag its corners on the map to change it."),
    circle: t("A circle. Drag its centre or edge on the map to change it."),
    corridor: t("A corridor along a line. Drag its points on the map to change it."),
  }[kind];
  $("fence-name").value = fence ? fence.name : "";
  $("radius-field").hidden = kind !== "circle";
  $("width-field").hidden = kind !== "corridor";
  if (kind === "circle") $("fence-radius").value = String(Math.round(layer.getRadius()));
  $("fence-width").value = String(fence && fence.width_m ? fence.width_m : DEFAULT_WIDTH_M);
  for (const box of fenceForm.querySelectorAll("input[data-kind]")) {
    const chosen = fence ? (box.dataset.kind === "device" ? fence.device_ids : fence.group_ids) : [];
    box.checked = chosen.includes(box.value);
  }
  const breach = fence ? fence.breach_on || "" : "exit";
  for (const radio of fenceForm.querySelectorAll("input[name=breach_on]")) radio.checked = radio.value === breach;
  $("fence-speed").value = fence && fence.speed_limit_kmh ? String(fence.speed_limit_kmh) : "";
  fillSchedule(fence ? fence.schedule : null);
  if (mode === "edit") {
    form.original = kind === "circle" ? { centre: layer.getLatLng(), radius: layer.getRadius() } : { latlngs: clone(layer.getLatLngs()) };
    layer.setStyle(DRAFT_STYLE);
    if (kind === "corridor") widen(map, layer, fence.width_m);
  }
  layer.pm.enable({ allowSelfIntersection: kind !== "polygon", snappable: true });
  layer.on("pm:edit", syncFromShape);
  if (kind === "corridor") widen(map, layer, Number($("fence-width").value) || DEFAULT_WIDTH_M);
  fenceForm.hidden = false;
  $("new-fence").hidden = true;
  $("fence-name").focus();
}

function clone(latlngs) {
  return Array.isArray(latlngs) ? latlngs.map(clone) : L.latLng(latlngs.lat, latlngs.lng);
}

function syncFromShape() {
  if (form && form.kind === "circle") $("fence-radius").value = String(Math.round(form.layer.getRadius()));
}

$("fence-radius").addEventListener("input", () => {
  const radius = Number($("fence-radius").value);
  if (form && form.kind === "circle" && radius > 0) form.layer.setRadius(radius);
});
$("fence-width").addEventListener("input", () => {
  const width = Number($("fence-width").value);
  if (form && form.kind === "corridor" && width > 0) widen(map, form.layer, width);
});

/** Close the form; a new shape is dropped, an edited one goes back to how it was. */
function closeForm() {
  if (!form) return;
  const { mode, kind, layer, id, original } = form;
  layer.off("pm:edit", syncFromShape);
  layer.pm.disable();
  if (mode === "new") layer.remove();
  else if (fences.has(id)) {
    const entry = fences.get(id);
    if (kind === "circle") { layer.setLatLng(original.centre); layer.setRadius(original.radius); } else layer.setLatLngs(original.latlngs);
    layer.setStyle(styleFor(entry.fence));
    if (kind === "corridor") widen(map, layer, entry.fence.width_m);
  }
  form = null;
  fenceForm.hidden = true;
  $("new-fence").hidden = false;
}

function fillSchedule(schedule) {
  const days = schedule ? schedule.days : DAYS;
  for (const day of DAYS) $(`day-${day}`).checked = days.includes(day);
  const whole = !schedule || (schedule.start === "00:00" && schedule.end === "24:00");
  $("schedule-start").value = whole ? "" : schedule.start;
  $("schedule-end").value = whole || schedule.end === "24:00" ? "" : schedule.end;
  $("schedule").open = Boolean(schedule);
}

/** The schedule the form describes: null for "always"; a string when it is not usable. */
function readSchedule() {
  const days = DAYS.filter((day) => $(`day-${day}`).checked);
  const start = $("schedule-start").value, end = $("schedule-end").value;
  if (!days.length) return t("Choose at least one day.");
  if (Boolean(start) !== Boolean(end)) return t("Give both times, or neither.");
  if (days.length === DAYS.length && !start) return null;
  const schedule = { time_zone: ZONE, days };
  if (start) Object.assign(schedule, { start, end });
  return schedule;
}

function readForm() {
  const problems = [];
  const name = $("fence-name").value.trim();
  if (!name) problems.push(["name", t("Give the geofence a name.")]);
  const body = { name, ...areaOf(form.layer, form.kind) };
  if (form.kind === "circle") {
    const radius = Number($("fence-radius").value);
    if (!(radius > 0)) problems.push(["radius_m", t("Give a radius above zero.")]);
    body.radius_m = radius;
  }
  if (form.kind === "corridor") {
    const width = Number($("fence-width").value);
    if (!(width > 0)) problems.push(["width_m", t("Give a width above zero.")]);
    body.width_m = width;
  }
  const picked = (kind) => [...fenceForm.querySelectorAll(`input[data-kind=${kind}]:checked`)].map((box) => box.value);
  body.device_ids = picked("device");
  body.group_ids = picked("group");
  body.breach_on = fenceForm.querySelector("input[name=breach_on]:checked").value || null;
  const speed = $("fence-speed").value.trim();
  if (speed && !(Number(speed) > 0)) problems.push(["speed_limit_kmh", t("Give a speed above zero, or leave it empty.")]);
  body.speed_limit_kmh = speed ? Number(speed) : null;
  const schedule = readSchedule();
  if (typeof schedule === "string") problems.push(["schedule", schedule]);
  else body.schedule = schedule;
  return { body, problems };
}

/** Show a refusal: next to its field when the server names one, and above the buttons. */
function showRefusal(error, fieldOf = (problem) => problem.field) {
  const problem = error.problem || {};
  const location = problem.errors && problem.errors[0] && problem.errors[0].location;
  const field = fieldOf(problem) || (location ? location[location.length - 1] : null);
  const detail = error.message;
  const input = field && field !== "area" ? fieldError(field, detail) : null;
  $("fence-error").textContent = field === "area"
    ? t("The shape was refused: {detail}", { detail })
    : t("The geofence was not saved: {detail}", { detail });
  if (input) input.focus();
}

fenceForm.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  if (!form) return;
  clearErrors();
  const { body, problems } = readForm();
  if (problems.length) {
    let first = null;
    for (const [field, message] of problems) first = first || fieldError(field, message);
    $("fence-error").textContent = t("Please correct the marked fields.");
    if (first) first.focus();
    return;
  }
  const save = $("save-fence");
  save.disabled = true;
  try {
    const { mode, id, layer } = form;
    const saved = mode === "edit"
      ? await api(`geofences/${id}`, { method: "PATCH", body })
      : await api("geofences", { method: "POST", body });
    layer.off("pm:edit", syncFromShape);
    layer.pm.disable();
    if (mode === "new") layer.remove();
    form = null;
    fenceForm.hidden = true;
    $("new-fence").hidden = false;
    const entry = put(saved);
    select(saved.id, { pan: false });
    toast(t("Geofence “{name}” saved.", { name: saved.name }));
    entry.cells.edit.focus();
  } catch (error) {
    showRefusal(error);
  } finally {
    save.disabled = false;
  }
});

$("cancel-fence").addEventListener("click", () => {
  const id = form && form.id;
  closeForm();
  const entry = id && fences.get(id);
  (entry ? entry.cells.edit : $("draw-polygon")).focus();
});

function startEditing(id) {
  const entry = fences.get(id);
  if (!entry) return;
  stopDrawing();
  select(id, { pan: true });
  openForm({ mode: "edit", kind: entry.fence.kind, layer: entry.layer, id });
}

// ---------------------------------------------------------------- deleting

const dialog = $("delete-dialog");
let deleting = null;

function confirmDelete(id, button) {
  const entry = fences.get(id);
  if (!entry) return;
  deleting = { id, button };
  $("delete-text").textContent = t("“{name}” will be deleted. The alerts it made stay in the inbox.", { name: entry.fence.name });
  dialog.returnValue = "";
  dialog.showModal();
}

dialog.addEventListener("close", async () => {
  if (!deleting) return;
  const { id, button } = deleting;
  deleting = null;
  if (dialog.returnValue !== "delete") { button.focus(); return; }
  const entry = fences.get(id);
  try {
    await api(`geofences/${id}`, { method: "DELETE" });
  } catch (error) {
    toast(t("The geofence was not deleted: {detail}", { detail: error.message }));
    button.focus();
    return;
  }
  if (form && form.id === id) closeForm();
  const next = entry.row.nextElementSibling || entry.row.previousElementSibling;
  entry.layer.remove();
  entry.row.remove();
  fences.delete(id);
  if (selected === id) selected = null;
  summarise();
  toast(t("Geofence “{name}” deleted.", { name: entry.fence.name }));
  (next ? next.querySelector("button") : $("draw-polygon")).focus();
});

// ---------------------------------------------------------------- a circle by its numbers

$("circle-form").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const lat = Number($("circle-lat").value), lon = Number($("circle-lon").value), radius = Number($("circle-radius").value);
  const error = $("circle-error");
  const problem =
    $("circle-lat").value === "" || !(lat >= -90 && lat <= 90) ? [$("circle-lat"), t("Give a latitude between -90 and 90.")]
      : $("circle-lon").value === "" || !(lon >= -180 && lon <= 180) ? [$("circle-lon"), t("Give a longitude between -180 and 180.")]
        : !(radius > 0) ? [$("circle-radius"), t("Give a radius above zero.")] : null;
  if (problem) {
    error.textContent = problem[1];
    problem[0].focus();
    return;
  }
  error.textContent = "";
  stopDrawing();
  const layer = L.circle([lat, lon], { radius, ...DRAFT_STYLE }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
  openForm({ mode: "new", kind: "circle", layer });
});

// ---------------------------------------------------------------- importing

setupImport({
  map,
  save: async (body) => put(await api("geofences", { method: "POST", body })),
  afterSave: () => { const first = list.querySelector("button"); if (first) first.focus(); },
});

// ---------------------------------------------------------------- start

async function load() {
  const [fenceList, deviceList, groupList] = await Promise.all([
    apiAll("geofences"),
    apiAll("devices").catch(() => []),
    api("groups").catch(() => []),
  ]);
  for (const device of deviceList) devices.set(device.id, device);
  for (const group of groupList) groups.set(group.id, group);
  buildChoices();
  for (const fence of fenceList) put(fence);
  summarise();
  const bounds = L.featureGroup([...fences.values()].map((entry) => entry.layer)).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
  mapElement.dataset.fences = String(fences.size);
}

await load();
