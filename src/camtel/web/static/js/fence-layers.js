// How fences look on the map and read in words: colours by what is urgent, corridors as wide
// on screen as on the ground, and the GeoJSON a drawn layer stands for.
import { el, format, t } from "./core.js";

const L = window.L;

export const COLOURS = { exit: "#0b5cad", enter: "#b3261e", none: "#6b4fbb", draft: "#c75b00", imported: "#6b4fbb" };
export const styleFor = (fence) => ({ color: COLOURS[fence.breach_on || "none"], weight: 2, fillOpacity: 0.15 });
export const DRAFT_STYLE = { color: COLOURS.draft, weight: 3, dashArray: "6 4", fillOpacity: 0.12 };

export function shapeText(fence) {
  if (fence.kind === "circle") return t("Circle, radius {radius}", { radius: format.distance(fence.radius_m) });
  if (fence.kind === "corridor") return t("Corridor, {width} wide", { width: format.distance(fence.width_m) });
  return t("Area");
}

export function breachText(fence) {
  if (fence.breach_on === "exit") return t("Urgent when leaving");
  if (fence.breach_on === "enter") return t("Urgent when entering");
  return t("Alerts on entering and leaving");
}

function metresPerPixel(map, lat) {
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / 2 ** (map.getZoom() + 8);
}

/** A corridor is drawn as a line as wide, on screen, as it is on the ground. */
export function widen(map, layer, width) {
  if (!(layer instanceof L.Polyline) || layer instanceof L.Polygon || !layer.getLatLngs().length || !(width > 0)) return;
  const weight = Math.max(3, width / metresPerPixel(map, layer.getBounds().getCenter().lat));
  layer.setStyle({ weight, lineCap: "round", lineJoin: "round", opacity: 0.45 });
}

/** A Leaflet layer for a shape as the API gives it ({kind, area, radius_m, width_m}). */
export function shapeLayer(map, shape, style) {
  const area = shape.area;
  let layer;
  if (shape.kind === "circle") layer = L.circle([area.coordinates[1], area.coordinates[0]], { radius: shape.radius_m, ...style });
  else if (shape.kind === "corridor") layer = L.polyline(L.GeoJSON.coordsToLatLngs(area.coordinates, 0), style);
  else layer = L.polygon(L.GeoJSON.coordsToLatLngs(area.coordinates, area.type === "MultiPolygon" ? 2 : 1), style);
  layer.addTo(map);
  if (shape.kind === "corridor") widen(map, layer, shape.width_m);
  return layer;
}

/** A saved fence on the map, named by a tooltip (text, never markup). */
export function fenceLayer(map, fence, onClick) {
  const layer = shapeLayer(map, fence, styleFor(fence));
  layer.bindTooltip(el("span", {}, fence.name), { sticky: true });
  layer.on("click", onClick);
  return layer;
}

const round = (value) => Math.round(value * 1e7) / 1e7;

/** The GeoJSON geometry (and radius) a drawn layer stands for, as the API takes it. */
export function areaOf(layer, kind) {
  if (kind === "circle") {
    const centre = layer.getLatLng();
    return { area: { type: "Point", coordinates: [round(centre.lng), round(centre.lat)] }, radius_m: layer.getRadius() };
  }
  return { area: layer.toGeoJSON(7).geometry };
}
