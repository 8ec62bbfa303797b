// The player: the video beside a map of its embedded track, on one clock. The marker for the
// current play time follows the video (on every timeupdate and, while playing, every
// animation frame), seeking moves it at once, clicking the track seeks the video, and the
// recording's events are marks on a timeline that seek when pressed. The share panel lives
// in share.js.
import { ApiError, api, config, el, format, t } from "./core.js";
import { eventTypeName } from "./event-types.js";
import { createMap } from "./map.js";
import { PlayTrack, clock, eventOffset } from "./playhead.js";
import { startSharing } from "./share.js";

const L = window.L;
const POLL_MS = 2000;
const mediaId = config.data.mediaId;
const base = `/api/v1/media/${mediaId}`;

const video = document.getElementById("video");
const photo = document.getElementById("photo");
const videoStatus = document.getElementById("video-status");
const speed = document.getElementById("speed");
const playClock = document.getElementById("play-clock");
const bar = document.getElementById("timeline-bar");
const played = document.getElementById("timeline-played");
const timelineNote = document.getElementById("timeline-note");
const mapNote = document.getElementById("map-note");
const map = createMap(document.getElementById("map"));

let media = null;
let track = null;
let marker = null;
let markerNode = null;
let frame = 0;

const CHANNELS = { front: () => t("Front camera"), rear: () => t("Rear camera"), cabin: () => t("Cabin camera"), unknown: () => t("Not known") };

function say(text) {
  videoStatus.textContent = text || "";
  videoStatus.hidden = !text;
}

function duration() {
  return Number.isFinite(video.duration) && video.duration > 0 ? video.duration : media && media.duration_s;
}

// One clock: the video's currentTime places the marker.

function follow() {
  const now = video.currentTime || 0;
  playClock.textContent = clock(now);
  const total = duration();
  played.style.setProperty("width", total ? `${Math.min(100, (now / total) * 100)}%` : "0");
  if (!track || !marker) return;
  const at = track.at(now);
  if (!at) return;
  marker.setLatLng([at.lat, at.lon]);
  markerNode.dataset.lat = String(at.lat);
  markerNode.dataset.lon = String(at.lon);
  markerNode.dataset.offset = now.toFixed(3);
}

function everyFrame() {
  follow();
  frame = video.paused || video.ended ? 0 : requestAnimationFrame(everyFrame);
}

video.addEventListener("timeupdate", follow);
video.addEventListener("seeking", follow);
video.addEventListener("seeked", follow);
video.addEventListener("loadedmetadata", () => { follow(); drawMarks(); });
video.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(everyFrame); });
video.addEventListener("pause", () => { cancelAnimationFrame(frame); frame = 0; follow(); });
video.addEventListener("ended", follow);
video.addEventListener("ratechange", () => {
  const rate = String(video.playbackRate);
  if ([...speed.options].some((option) => option.value === rate)) speed.value = rate;
});
video.addEventListener("error", () => {
  if (!video.getAttribute("src")) return;
  say(t("Your browser cannot play this recording. Download the original to watch it."));
});
speed.addEventListener("change", () => { video.playbackRate = Number(speed.value); });

function seek(offset) {
  video.currentTime = Math.max(0, offset);
  follow();
}

// The map

function drawTrack(geojson) {
  track = new PlayTrack(geojson);
  if (!track.length) {
    mapNote.textContent = t("This recording has no GPS track.");
    mapNote.hidden = false;
    return;
  }
  const points = track.latLngs();
  const renderer = L.svg({ padding: 0.5 });
  L.polyline(points, { renderer, color: "#0b5cad", weight: 5, opacity: 0.9, interactive: false }).addTo(map);
  // A wide, invisible line over it takes the clicks (easier to hit with a finger).
  const hit = L.polyline(points, { renderer, color: "#000", weight: 18, opacity: 0, interactive: true });
  hit.on("click", (event) => {
    const index = track.nearest(event.latlng.lat, event.latlng.lng);
    if (index >= 0) seek(track.offsets[index]);
  });
  hit.addTo(map);
  const path = hit.getElement();
  if (path) path.dataset.testid = "track";
  L.circleMarker(points[0], { radius: 6, color: "#1e7b34", fillOpacity: 1, interactive: false }).addTo(map);
  const icon = L.divIcon({ className: "playhead-marker", iconSize: [18, 18], iconAnchor: [9, 9] });
  marker = L.marker(points[0], { icon, keyboard: false, interactive: false, zIndexOffset: 1000 }).addTo(map);
  markerNode = marker.getElement();
  markerNode.dataset.testid = "playhead-marker";
  markerNode.setAttribute("role", "img");
  markerNode.setAttribute("aria-label", t("Position at the current play time"));
  map.fitBounds(points, { padding: [30, 30], maxZoom: 17 });
  follow();
}

// The timeline of events

let events = [];

function drawMarks() {
  for (const old of bar.querySelectorAll(".mark")) old.remove();
  const total = duration();
  if (!total) return;
  for (const item of events) {
    const when = clock(item.offset);
    const name = t("{event} at {time}", { event: eventTypeName(item.event.type), time: when });
    const mark = el("button", {
      type: "button",
      class: `mark${item.event.urgent ? " urgent" : ""}`,
      "aria-label": name,
      title: name,
      dataset: { offset: String(item.offset), type: item.event.type },
    }, el("span", { "aria-hidden": "true" }, "!"));
    mark.style.setProperty("left", `${Math.min(100, (item.offset / total) * 100)}%`);
    mark.addEventListener("click", () => seek(item.offset));
    bar.append(mark);
  }
}

async function loadEvents() {
  if (!media.device_id) {
    bar.hidden = true;
    timelineNote.textContent = media.event_count
      ? t("This recording belongs to no vehicle, so its G-sensor events are not listed.")
      : t("No events during this recording.");
    return;
  }
  const startMs = Date.parse(media.start_time || media.created_at);
  const durationS = media.duration_s || 0;
  const params = new URLSearchParams({
    device_id: media.device_id,
    from: new Date(startMs - 1000).toISOString(),
    to: new Date(startMs + (durationS + 1) * 1000).toISOString(),
    limit: "500",
  });
  let found = [];
  try {
    found = await api(`events?${params}`);
  } catch (error) {
    timelineNote.textContent = t("The events could not be loaded: {error}", { error: error.message });
    return;
  }
  events = found
    .filter((event) => !["device_online", "device_offline"].includes(event.type))
    .map((event) => ({ event, offset: eventOffset(event, { mediaId, startMs, durationS }) }))
    .filter((item) => item.offset != null)
    .sort((a, b) => a.offset - b.offset);
  timelineNote.textContent = events.length ? "" : t("No events during this recording.");
  bar.hidden = events.length === 0;
  drawMarks();
}

// The facts

function facts(device) {
  const rows = [
    [t("Recorded"), format.dateTime(media.start_time || media.created_at)],
    [t("Vehicle"), device ? device.name : t("No vehicle")],
    [t("Camera"), (CHANNELS[media.channel] || CHANNELS.unknown)()],
  ];
  if (media.kind === "video") rows.push([t("Length"), format.duration(media.duration_s)]);
  const probe = media.probe || {};
  if (probe.width && probe.height) rows.push([t("Picture"), `${probe.width} × ${probe.height}${probe.video_codec ? ` · ${probe.video_codec}` : ""}`]);
  rows.push([t("File"), `${media.filename} · ${bytes(media.size)}`]);
  const playback = {
    pending: () => t("A copy your browser can play is being made"),
    ready: () => t("A copy converted for browsers (H.264)"),
    failed: () => t("No copy for browsers could be made"),
  }[media.playable];
  if (media.kind === "video" && playback) rows.push([t("Playback"), playback()]);
  rows.push([t("GPS points"), String(media.track_points)]);
  const tags = [];
  if (media.has_event) tags.push(t("Event"));
  if (media.locked) tags.push(t("Locked (kept a year)"));
  if (tags.length) rows.push([t("Marked"), tags.join(", ")]);
  document.getElementById("facts").replaceChildren(...rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function bytes(size) {
  if (size < 1024 * 1024) return `${Math.max(1, Math.round(size / 1024))} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

// What to play

let waiting = 0;

function choose() {
  clearTimeout(waiting);
  if (media.kind === "photo") {
    video.hidden = true;
    photo.hidden = false;
    photo.src = `${base}/content`;
    photo.alt = t("Photo {name}", { name: media.filename });
    say("");
    return;
  }
  if (media.has_thumbnail && !video.poster) video.poster = `${base}/thumbnail`;
  if (media.status === "processing") {
    say(t("The recording is still being analysed. This page updates by itself."));
    waiting = setTimeout(refresh, POLL_MS);
    return;
  }
  if (media.playable === "pending") {
    say(t("Preparing a version your browser can play. This page updates by itself."));
    waiting = setTimeout(refresh, POLL_MS);
    return;
  }
  const source = media.playable === "ready" ? `${base}/playable` : `${base}/content`;
  if (video.getAttribute("src") !== source) {
    const at = video.currentTime;
    video.src = source;
    if (at) video.currentTime = at;
  }
  say(media.playable === "failed"
    ? t("camtel could not convert this recording for browsers; it may not play here. Download the original to watch it.")
    : media.status === "failed" ? t("This recording could not be read: {reason}", { reason: media.failure_reason || "" }) : "");
}

async function refresh() {
  try {
    const fresh = await api(`media/${mediaId}`);
    const analysed = media.status === "processing" && fresh.status !== "processing";
    const converted = media.playable !== fresh.playable;
    media = fresh;
    if (analysed) await loadTrackAndEvents();
    if (analysed || converted) facts(device);
    choose();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) say(t("This recording no longer exists."));
    else waiting = setTimeout(refresh, POLL_MS * 2);
  }
}

async function loadTrackAndEvents() {
  if (media.status !== "ready") return;
  if (media.track_points) {
    try {
      drawTrack(await api(`${base}/track.geojson`));
    } catch (error) {
      mapNote.textContent = t("The track could not be loaded: {error}", { error: error.message });
      mapNote.hidden = false;
    }
  } else drawTrack(null);
  if (media.kind === "video") await loadEvents();
}

media = await api(`media/${mediaId}`);
document.getElementById("recording-title").textContent = t("Recording of {time}", { time: format.dateTime(media.start_time || media.created_at) });
document.getElementById("recording-subtitle").textContent = media.filename;
document.getElementById("download").href = `${base}/content`;
let device = null;
if (media.device_id) device = await api(`devices/${media.device_id}`).catch(() => null);
facts(device);
choose();
await loadTrackAndEvents();
if (config.data.mayShare) startSharing(media, { onChange: (fresh) => { media = { ...media, redaction: fresh.redaction }; } });
