// The map and the video on one clock: a recording's embedded track answers "where was the
// camera at play time t" (seconds from the start of the video) by a binary search on the
// points' offsets and a linear interpolation between the two points around t. Pure: no DOM,
// no Leaflet, so that it can be tested on its own (tests/web/test_playhead_js.py, Node).
import { lastAtOrBefore } from "./replay.js";

/** The track of one recording, from its GeoJSON (`GET /media/{id}/track.geojson`). */
export class PlayTrack {
  constructor(geojson) {
    const feature = geojson && geojson.features && geojson.features[0];
    const geometry = feature && feature.geometry;
    const props = (feature && feature.properties) || {};
    let coordinates = [];
    if (geometry && geometry.type === "LineString") coordinates = geometry.coordinates;
    else if (geometry && geometry.type === "Point") coordinates = [geometry.coordinates];
    const offsets = props.offsets_s || [];
    const speeds = props.speeds_kmh || [];
    const points = coordinates
      .map((c, i) => ({ lon: c[0], lat: c[1], offset: offsets[i], speed: speeds[i] }))
      .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon) && Number.isFinite(p.offset))
      .sort((a, b) => a.offset - b.offset);
    this.offsets = points.map((p) => p.offset);
    this.lats = points.map((p) => p.lat);
    this.lons = points.map((p) => p.lon);
    this.speeds = points.map((p) => (Number.isFinite(p.speed) ? p.speed : null));
  }

  get length() { return this.offsets.length; }

  /** [[lat, lon], ...] in play order, for drawing. */
  latLngs() { return this.offsets.map((_, i) => [this.lats[i], this.lons[i]]); }

  /** Where the camera was at play time `t` (s): {lat, lon, speed, index} interpolated
   * between the points around t; before the first point or after the last, that point. */
  at(t) {
    const n = this.length;
    if (!n) return null;
    const i = lastAtOrBefore(this.offsets, t);
    if (i < 0) return { lat: this.lats[0], lon: this.lons[0], speed: this.speeds[0], index: 0 };
    if (i >= n - 1) return { lat: this.lats[n - 1], lon: this.lons[n - 1], speed: this.speeds[n - 1], index: n - 1 };
    const span = this.offsets[i + 1] - this.offsets[i];
    const f = span > 0 ? (t - this.offsets[i]) / span : 0;
    const mix = (a, b) => (a == null || b == null ? (a ?? b) : a + (b - a) * f);
    return {
      lat: this.lats[i] + (this.lats[i + 1] - this.lats[i]) * f,
      lon: this.lons[i] + (this.lons[i + 1] - this.lons[i]) * f,
      speed: mix(this.speeds[i], this.speeds[i + 1]),
      index: i,
    };
  }

  /** Index of the point nearest to (lat, lon), distances as on a local flat map. */
  nearest(lat, lon) {
    const scale = Math.cos((lat * Math.PI) / 180);
    let best = -1, bestDistance = Infinity;
    for (let i = 0; i < this.length; i++) {
      const dy = this.lats[i] - lat, dx = (this.lons[i] - lon) * scale;
      const distance = dx * dx + dy * dy;
      if (distance < bestDistance) { best = i; bestDistance = distance; }
    }
    return best;
  }
}

/** A play time as the player shows it: "0:07", "12:34", "1:02:03". */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Where an event falls in a recording, in seconds from its start, or null when outside it.
 * A G-sensor event made from this very recording carries its exact offset; any other event
 * (an alarm the device sent, a geofence crossing) is placed by its time. */
export function eventOffset(event, { mediaId, startMs, durationS }) {
  const attributes = event.attributes || {};
  let offset;
  if (attributes.media_id === mediaId && Number.isFinite(attributes.offset_s)) offset = attributes.offset_s;
  else offset = (Date.parse(event.time) - startMs) / 1000;
  if (!Number.isFinite(offset) || offset < 0) return null;
  if (Number.isFinite(durationS) && offset > durationS) return null;
  return offset;
}
