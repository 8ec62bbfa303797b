// Replay by time, not by point index: a track answers "where was the vehicle at time t" by a
// binary search on its timestamps and a linear interpolation between the two fixes around t,
// and one clock in wall time drives every track at once. Pure: no DOM, no Leaflet, so that
// it can be tested on its own (tests/web/test_replay_js.py runs it under Node).

/** A fix gap longer than this is a silence: the vehicle is shown where it last reported. */
export const GAP_MS = 5 * 60 * 1000;
/** The replay speeds offered (replay seconds per real second). */
export const RATES = [1, 2, 4, 8, 16];

/** Index of the last timestamp <= t in an ascending array (-1 when t is before the first). */
export function lastAtOrBefore(times, t) {
  let low = 0, high = times.length - 1, found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (times[middle] <= t) { found = middle; low = middle + 1; } else high = middle - 1;
  }
  return found;
}

/** Bearing in degrees (0 = north, clockwise) from one point to another. */
export function bearing(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const y = Math.sin((lon2 - lon1) * rad) * Math.cos(lat2 * rad);
  const x = Math.cos(lat1 * rad) * Math.sin(lat2 * rad) - Math.sin(lat1 * rad) * Math.cos(lat2 * rad) * Math.cos((lon2 - lon1) * rad);
  return (Math.atan2(y, x) / rad + 360) % 360;
}

/** Longitude difference taken the short way round (a track may cross the antimeridian). */
function lonDelta(from, to) {
  let delta = to - from;
  if (delta > 180) delta -= 360;
  else if (delta < -180) delta += 360;
  return delta;
}

function wrapLon(lon) {
  return lon > 180 ? lon - 360 : lon < -180 ? lon + 360 : lon;
}

/** One device's fixes of the day, as columns, oldest first; invalid fixes are left out. */
export class Track {
  constructor(positions, { gapMs = GAP_MS } = {}) {
    const fixes = positions
      .filter((p) => p.valid !== false && Number.isFinite(p.latitude) && Number.isFinite(p.longitude))
      .map((p) => ({ ...p, ms: Date.parse(p.time) }))
      .filter((p) => Number.isFinite(p.ms))
      .sort((a, b) => a.ms - b.ms);
    const n = fixes.length;
    this.gapMs = gapMs;
    this.times = new Float64Array(n);
    this.lats = new Float64Array(n);
    this.lons = new Float64Array(n);
    this.speeds = new Float64Array(n);
    this.courses = new Float64Array(n);
    fixes.forEach((fix, i) => {
      this.times[i] = fix.ms;
      this.lats[i] = fix.latitude;
      this.lons[i] = fix.longitude;
      this.speeds[i] = Number.isFinite(fix.speed_kmh) ? fix.speed_kmh : NaN;
      this.courses[i] = Number.isFinite(fix.course) ? fix.course : NaN;
    });
    // A device that reports no heading (OsmAnd often does not) points the way it went.
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(this.courses[i])) continue;
      const [a, b] = i + 1 < n ? [i, i + 1] : [i - 1, i];
      if (a >= 0 && (this.lats[a] !== this.lats[b] || this.lons[a] !== this.lons[b])) {
        this.courses[i] = bearing(this.lats[a], this.lons[a], this.lats[b], this.lons[b]);
      }
    }
  }

  get length() { return this.times.length; }
  get start() { return this.length ? this.times[0] : NaN; }
  get end() { return this.length ? this.times[this.length - 1] : NaN; }

  /** Where the vehicle was at `t` (ms): interpolated between the fixes around it, or held at
   * the nearest fix (`stale`) before the first fix, after the last, or inside a gap. */
  at(t) {
    const n = this.length;
    if (!n) return null;
    const i = lastAtOrBefore(this.times, t);
    if (i < 0) return this._fix(0, true);
    if (i === n - 1) return this._fix(i, t - this.times[i] > this.gapMs);
    const t0 = this.times[i], t1 = this.times[i + 1];
    if (t1 - t0 > this.gapMs) return this._fix(i, true);
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0;
    const lat = this.lats[i] + (this.lats[i + 1] - this.lats[i]) * f;
    const lon = wrapLon(this.lons[i] + lonDelta(this.lons[i], this.lons[i + 1]) * f);
    const moved = this.lats[i] !== this.lats[i + 1] || this.lons[i] !== this.lons[i + 1];
    const s0 = this.speeds[i], s1 = this.speeds[i + 1];
    return {
      index: i,
      lat,
      lon,
      speed: Number.isNaN(s0) ? s1 : Number.isNaN(s1) ? s0 : s0 + (s1 - s0) * f,
      course: moved ? bearing(this.lats[i], this.lons[i], this.lats[i + 1], this.lons[i + 1]) : this.courses[i],
      stale: false,
    };
  }

  _fix(i, stale) {
    return { index: i, lat: this.lats[i], lon: this.lons[i], speed: this.speeds[i], course: this.courses[i], stale };
  }

  /** Indexes [first, last] of the fixes within [from, to] (ms); empty when first > last. */
  between(from, to) {
    return [lastAtOrBefore(this.times, from - 1) + 1, lastAtOrBefore(this.times, to)];
  }

  /** Index of the fix nearest to a point (for a click on the drawn track). */
  nearest(lat, lon) {
    let best = -1, bestDistance = Infinity;
    const scale = Math.cos(lat * Math.PI / 180);
    for (let i = 0; i < this.length; i++) {
      const dy = this.lats[i] - lat, dx = lonDelta(lon, this.lons[i]) * scale;
      const distance = dx * dx + dy * dy;
      if (distance < bestDistance) { bestDistance = distance; best = i; }
    }
    return best;
  }
}

/** The replay clock: a time in ms that advances `rate` times as fast as real time while
 * playing, within [start, end]; reaching the end pauses it. */
export class Clock {
  constructor() {
    this.start = 0;
    this.end = 0;
    this.time = 0;
    this.rate = 1;
    this.playing = false;
  }

  /** The span of the replay; the time is kept when it still lies inside, else moved to the start. */
  setRange(start, end) {
    this.start = start;
    this.end = Math.max(start, end);
    if (!(this.time >= this.start && this.time <= this.end)) this.time = this.start;
  }

  seek(time) {
    this.time = Math.min(this.end, Math.max(this.start, time));
  }

  /** Advance by `elapsedMs` of real time; returns true when the end was reached. */
  advance(elapsedMs) {
    if (!this.playing) return false;
    this.seek(this.time + elapsedMs * this.rate);
    if (this.time >= this.end) { this.playing = false; return true; }
    return false;
  }

  play() {
    if (this.time >= this.end) this.time = this.start;
    this.playing = this.end > this.start;
  }

  pause() { this.playing = false; }
}
