// The recordings library: cards with thumbnails, filters kept in the address, "Load more"
// following the API's Link rel="next", resumable uploads with progress, and cards of
// recordings still being analysed that update themselves.
import { ApiError, api, apiAll, el, format, t, toast } from "./core.js";
import { Aborted, Upload, canResume } from "./tus.js";

const PAGE_SIZE = 24;
const POLL_MS = 2000;

const grid = document.getElementById("recording-grid");
const status = document.getElementById("library-status");
const empty = document.getElementById("library-empty");
const more = document.getElementById("load-more");
const filters = {
  device: document.getElementById("filter-device"),
  day: document.getElementById("filter-day"),
  events: document.getElementById("filter-events"),
  locked: document.getElementById("filter-locked"),
};

const devices = new Map();
/** id -> {media, card} of the cards shown. */
const shown = new Map();
let next = null;
let generation = 0;

const STAGES = {
  queued: () => t("Waiting for analysis"),
  probe: () => t("Reading the file"),
  track: () => t("Reading the GPS track"),
  thumbnail: () => t("Making a preview"),
  events: () => t("Looking for events"),
};

function deviceName(id) {
  if (!id) return t("No vehicle");
  return devices.has(id) ? devices.get(id).name : t("Unknown vehicle");
}

function title(media) {
  return format.dateTime(media.start_time || media.created_at);
}

function card(media) {
  const name = media.filename || t("Recording");
  const link = el("a", { class: "card-link", href: `/app/recordings/${media.id}` },
    media.has_thumbnail
      ? el("img", { class: "thumb", src: `/api/v1/media/${media.id}/thumbnail`, alt: t("Still from {name}", { name }), loading: "lazy", width: "320", height: "180" })
      : el("span", { class: "thumb placeholder", "aria-hidden": "true" }, media.kind === "photo" ? "▣" : "▶"),
    el("span", { class: "card-title" }, title(media)));
  const facts = [deviceName(media.device_id)];
  if (media.kind === "video" && media.duration_s != null) facts.push(format.duration(media.duration_s));
  if (media.kind === "photo") facts.push(t("Photo"));
  const badges = el("p", { class: "badges" },
    media.has_event ? el("span", { class: "tag tag-event" }, t("Event")) : null,
    media.locked ? el("span", { class: "tag tag-locked" }, t("Locked")) : null,
    media.track_points ? el("span", { class: "tag" }, t("GPS track")) : null);
  const node = el("li", { class: "recording-card", dataset: { mediaId: media.id, status: media.status } },
    link,
    el("p", { class: "card-meta" }, facts.join(" · ")),
    el("p", { class: "card-file muted" }, name),
    badges);
  if (media.status === "processing") {
    const stage = STAGES[media.stage] ? STAGES[media.stage]() : t("Processing");
    node.append(el("div", { class: "card-status" },
      el("span", {}, t("Processing: {stage}", { stage })),
      el("progress", { max: "1", value: String(media.progress || 0), "aria-label": t("Analysis of {name}", { name }) })));
  } else if (media.status === "failed") {
    node.append(el("p", { class: "card-status failed" }, t("Could not be read: {reason}", { reason: media.failure_reason || t("unknown error") })));
  }
  return node;
}

function place(media, { first = false } = {}) {
  const node = card(media);
  const known = shown.get(media.id);
  if (known) known.card.replaceWith(node);
  else if (first) grid.prepend(node);
  else grid.append(node);
  shown.set(media.id, { media, card: node });
}

function query() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.device.value) params.set("device_id", filters.device.value);
  if (filters.day.value) {
    const start = new Date(`${filters.day.value}T00:00:00`);
    const end = new Date(start);
    end.setDate(end.getDate() + 1);
    params.set("from", start.toISOString());
    params.set("to", new Date(end.getTime() - 1).toISOString());
  }
  if (filters.events.checked) params.set("has_event", "true");
  if (filters.locked.checked) params.set("locked", "true");
  return params;
}

/** The filters in the address, so that a reload or a shared address shows the same. */
function keepInAddress() {
  const params = new URLSearchParams();
  if (filters.device.value) params.set("device", filters.device.value);
  if (filters.day.value) params.set("day", filters.day.value);
  if (filters.events.checked) params.set("events", "1");
  if (filters.locked.checked) params.set("locked", "1");
  const search = params.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

function readAddress() {
  const params = new URLSearchParams(location.search);
  if (params.get("device") && devices.has(params.get("device"))) filters.device.value = params.get("device");
  if (/^\d{4}-\d{2}-\d{2}$/.test(params.get("day") || "")) filters.day.value = params.get("day");
  filters.events.checked = params.get("events") === "1";
  filters.locked.checked = params.get("locked") === "1";
}

async function fetchPage(url, mine) {
  const answer = await api(url, { raw: true });
  const items = await answer.json();
  if (mine !== generation) return;
  const link = answer.headers.get("link") || "";
  const match = link.match(/<([^>]+)>;\s*rel="next"/);
  next = match ? new URL(match[1], location.origin) : null;
  for (const media of items) place(media);
  more.hidden = !next;
  empty.hidden = shown.size > 0;
  status.textContent = shown.size ? t("Recordings shown: {count}", { count: shown.size }) : "";
}

async function reload() {
  generation += 1;
  const mine = generation;
  shown.clear();
  grid.replaceChildren();
  next = null;
  more.hidden = true;
  empty.hidden = true;
  status.textContent = t("Loading…");
  keepInAddress();
  try {
    await fetchPage(`/api/v1/media?${query()}`, mine);
  } catch (error) {
    if (mine === generation) status.textContent = t("The recordings could not be loaded: {error}", { error: error.message });
  }
}

more.addEventListener("click", async () => {
  if (!next) return;
  more.disabled = true;
  try {
    await fetchPage(next.pathname + next.search, generation);
  } catch (error) {
    toast(t("The recordings could not be loaded: {error}", { error: error.message }));
  } finally {
    more.disabled = false;
  }
});

for (const control of Object.values(filters)) control.addEventListener("change", reload);
document.getElementById("filter-clear").addEventListener("click", () => {
  filters.device.value = "";
  filters.day.value = "";
  filters.events.checked = false;
  filters.locked.checked = false;
  reload();
});
document.getElementById("filters").addEventListener("submit", (event) => { event.preventDefault(); reload(); });

// Cards of recordings still being analysed ask again every two seconds.
setInterval(async () => {
  const waiting = [...shown.values()].filter((item) => item.media.status === "processing");
  for (const { media } of waiting) {
    try {
      const fresh = await api(`media/${media.id}`);
      if (shown.has(media.id) && (fresh.status !== media.status || fresh.progress !== media.progress || fresh.stage !== media.stage)) {
        place(fresh);
        if (fresh.status === "ready") status.textContent = t("{name} is ready.", { name: fresh.filename || t("Recording") });
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) { shown.get(media.id).card.remove(); shown.delete(media.id); }
    }
  }
}, POLL_MS);

// Upload

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("upload-file");
const uploadDevice = document.getElementById("upload-device");
const startButton = document.getElementById("upload-start");
const progressBox = document.getElementById("upload-progress");
const bar = document.getElementById("upload-bar");
const percent = document.getElementById("upload-percent");
const label = document.getElementById("upload-label");
const uploadStatus = document.getElementById("upload-status");
let current = null;

fileInput.addEventListener("change", () => {
  const file = fileInput.files[0];
  uploadStatus.textContent = file && canResume(file) ? t("An earlier upload of this file will continue where it stopped.") : "";
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = fileInput.files[0];
  if (!file || current) return;
  const upload = new Upload(file, {
    deviceId: uploadDevice.value,
    onProgress: (sent, total) => {
      const share = total ? Math.floor((sent / total) * 100) : 100;
      bar.value = share;
      percent.textContent = `${share} %`;
    },
    onRetry: (attempt) => { uploadStatus.textContent = t("Connection lost; trying again ({attempt})…", { attempt }); },
  });
  current = upload;
  label.textContent = t("Uploading {name}", { name: file.name });
  bar.value = 0;
  percent.textContent = "0 %";
  progressBox.hidden = false;
  startButton.disabled = true;
  uploadStatus.textContent = "";
  try {
    const mediaId = await upload.start();
    uploadStatus.textContent = t("{name} is uploaded and being analysed.", { name: file.name });
    form.reset();
    if (mediaId) place(await api(`media/${mediaId}`), { first: true });
    empty.hidden = shown.size > 0;
  } catch (error) {
    uploadStatus.textContent = error instanceof Aborted
      ? t("Upload cancelled.")
      : t("The upload failed: {error}", { error: error.message });
  } finally {
    current = null;
    startButton.disabled = false;
    progressBox.hidden = true;
  }
});

document.getElementById("upload-cancel").addEventListener("click", () => { if (current) current.cancel(); });

// Start

try {
  for (const device of (await apiAll("devices")).sort((a, b) => a.name.localeCompare(b.name))) {
    devices.set(device.id, device);
    filters.device.append(el("option", { value: device.id }, device.name));
    uploadDevice.append(el("option", { value: device.id }, device.name));
  }
} catch (error) {
  toast(t("The vehicles could not be loaded: {error}", { error: error.message }));
}
readAddress();
await reload();
