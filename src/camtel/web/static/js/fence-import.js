// Geofences from files, read in the browser: GeoJSON areas, corridors and circles; GPX tracks
// and routes (a closed one becomes an area). The shapes are what POST /api/v1/geofences takes.

export const DEFAULT_WIDTH_M = 50;
/** A track closing within this distance of its start is an area, not a corridor. */
const CLOSED_WITHIN_M = 25;
/** The API takes up to 10,000 positions; long tracks are simplified below this. */
const MAX_POINTS = 5000;

/** Read a file's text into {shapes: [{name, kind, area, radius_m?, width_m?}], skipped}. */
export function parseFenceFile(fileName, text) {
  const base = fileName.replace(/\.[^.]+$/, "") || fileName;
  const trimmed = text.trimStart();
  const found = trimmed.startsWith("<") ? fromGpx(trimmed) : fromGeoJson(JSON.parse(trimmed));
  found.shapes.forEach((shape, index) => {
    if (!shape.name) shape.name = found.shapes.length > 1 ? `${base} ${index + 1}` : base;
    shape.name = shape.name.slice(0, 120);
  });
  return found;
}

// ---------------------------------------------------------------- GeoJSON

function fromGeoJson(document) {
  const result = { shapes: [], skipped: 0 };
  const visit = (object, properties) => {
    if (!object || typeof object !== "object") return;
    if (object.type === "FeatureCollection") (object.features || []).forEach((f) => visit(f, {}));
    else if (object.type === "Feature") visit(object.geometry, object.properties || {});
    else if (object.type === "GeometryCollection") (object.geometries || []).forEach((g) => visit(g, properties));
    else geometry(object, properties, result);
  };
  visit(document, {});
  return result;
}

function number(...values) {
  for (const value of values) {
    const n = Number(value);
    if (value != null && value !== "" && Number.isFinite(n) && n > 0) return n;
  }
  return null;
}

function nameOf(properties) {
  const name = properties.name ?? properties.title ?? properties.Name ?? "";
  return typeof name === "string" ? name.trim() : String(name);
}

const flat = (position) => [Number(position[0]), Number(position[1])];

function geometry(object, properties, result) {
  const name = nameOf(properties);
  const coordinates = object.coordinates;
  switch (object.type) {
    case "Polygon":
      result.shapes.push({ name, kind: "polygon", area: { type: "Polygon", coordinates: coordinates.map((ring) => closeRing(simplify(ring.map(flat)))) } });
      break;
    case "MultiPolygon":
      result.shapes.push({ name, kind: "polygon", area: { type: "MultiPolygon", coordinates: coordinates.map((polygon) => polygon.map((ring) => closeRing(simplify(ring.map(flat))))) } });
      break;
    case "LineString":
      result.shapes.push(corridor(name, coordinates.map(flat), number(properties.width_m, properties.width)));
      break;
    case "MultiLineString":
      coordinates.forEach((line, index) => result.shapes.push(corridor(name && `${name} ${index + 1}`, line.map(flat), number(properties.width_m, properties.width))));
      break;
    case "Point": {
      const radius = number(properties.radius_m, properties.radius, properties.radius_meters);
      if (radius) result.shapes.push({ name, kind: "circle", area: { type: "Point", coordinates: flat(coordinates) }, radius_m: radius });
      else result.skipped += 1;
      break;
    }
    default:
      result.skipped += 1;
  }
}

function corridor(name, points, width) {
  return { name, kind: "corridor", area: { type: "LineString", coordinates: simplify(points) }, width_m: width || DEFAULT_WIDTH_M };
}

function closeRing(ring) {
  const [first, last] = [ring[0], ring[ring.length - 1]];
  return first && (first[0] !== last[0] || first[1] !== last[1]) ? [...ring, first] : ring;
}

// ---------------------------------------------------------------- GPX

function fromGpx(text) {
  const xml = new DOMParser().parseFromString(text, "application/xml");
  if (xml.getElementsByTagName("parsererror").length) throw new SyntaxError("not a GPX file");
  const result = { shapes: [], skipped: 0 };
  const local = (node, tag) => [...node.getElementsByTagNameNS("*", tag)];
  const points = (nodes) => nodes
    .map((p) => [Number(p.getAttribute("lon")), Number(p.getAttribute("lat"))])
    .filter(([lon, lat]) => Number.isFinite(lon) && Number.isFinite(lat));
  const childName = (node) => {
    const child = [...node.children].find((c) => c.localName === "name");
    return child ? child.textContent.trim() : "";
  };
  for (const track of local(xml, "trk")) add(result, childName(track), points(local(track, "trkpt")));
  for (const route of local(xml, "rte")) add(result, childName(route), points(local(route, "rtept")));
  result.skipped += local(xml, "wpt").length;
  return result;
}

function add(result, name, points) {
  if (points.length < 2) { result.skipped += 1; return; }
  const closed = points.length >= 4 && metres(points[0], points[points.length - 1]) <= CLOSED_WITHIN_M;
  if (closed) {
    const ring = simplify(points.slice(0, -1));
    result.shapes.push({ name, kind: "polygon", area: { type: "Polygon", coordinates: [[...ring, ring[0]]] } });
  } else result.shapes.push(corridor(name, points, null));
}

/** Distance in metres between two [lon, lat] positions (haversine, good enough here). */
export function metres([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2
    + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}

// ---------------------------------------------------------------- simplification

/** Douglas–Peucker in degrees, with a tolerance that grows until few enough points remain. */
function simplify(points) {
  if (points.length <= MAX_POINTS) return points;
  let tolerance = 1e-6;
  let kept = points;
  while (kept.length > MAX_POINTS) {
    kept = douglasPeucker(points, tolerance);
    tolerance *= 2;
  }
  return kept;
}

function douglasPeucker(points, tolerance) {
  const keep = new Uint8Array(points.length);
  keep[0] = keep[points.length - 1] = 1;
  const stack = [[0, points.length - 1]];
  while (stack.length) {
    const [start, end] = stack.pop();
    let worst = -1, index = -1;
    for (let i = start + 1; i < end; i += 1) {
      const d = offLine(points[i], points[start], points[end]);
      if (d > worst) { worst = d; index = i; }
    }
    if (worst > tolerance) {
      keep[index] = 1;
      stack.push([start, index], [index, end]);
    }
  }
  return points.filter((_, i) => keep[i]);
}

function offLine([x, y], [x1, y1], [x2, y2]) {
  const dx = x2 - x1, dy = y2 - y1;
  const length = dx * dx + dy * dy;
  const share = length ? Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / length)) : 0;
  return Math.hypot(x - (x1 + share * dx), y - (y1 + share * dy));
}
