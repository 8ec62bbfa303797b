// The map every page draws on: Leaflet with the configured tiles, over a Natural Earth layer of
// land and borders (vendored world-atlas) so that the map still shows the world with no tiles.
import { config, t } from "./core.js";

const L = window.L;
let worldPromise = null;
/** Land (1:50m, merged by Natural Earth) and country borders (1:110m), fetched once a page. */
function world() {
  if (!worldPromise) {
    const map = config.map || {};
    const json = (url) => fetch(url).then((r) => r.json());
    worldPromise = map.landUrl && map.bordersUrl
      ? Promise.all([json(map.landUrl), json(map.bordersUrl)]).then(([land, countries]) => ({
          land: window.topojson.feature(land, land.objects.land),
          borders: window.topojson.mesh(countries, countries.objects.countries, (a, b) => a !== b),
        }))
      : Promise.resolve(null);
  }
  return worldPromise;
}

/** A Leaflet map in `element`, keyboard-usable, with tiles (if configured) above the world. */
export function createMap(element, { center = [50.1, 8.7], zoom = 5 } = {}) {
  const map = L.map(element, { keyboard: true, worldCopyJump: true, zoomSnap: 0.25 });
  map.setView(center, zoom);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.createPane("world").style.zIndex = 150; // beneath tiles (200): covered once they load
  const renderer = L.canvas({ pane: "world", padding: 0.5 });
  world().then((shapes) => {
    if (!shapes) return;
    L.geoJSON(shapes.land, { pane: "world", renderer, interactive: false, style: { stroke: false, fillColor: "#e9e5dc", fillOpacity: 1 } }).addTo(map);
    L.geoJSON(shapes.borders, { pane: "world", renderer, interactive: false, style: { color: "#8c8577", weight: 1, fill: false } }).addTo(map);
    element.dataset.world = "drawn";
  }).catch(() => { element.dataset.world = "failed"; });
  map.attributionControl.addAttribution(t("Land and borders: Natural Earth"));
  if (config.map && config.map.tileUrl) {
    const tiles = L.tileLayer(config.map.tileUrl, { maxZoom: 19, attribution: escapeText(config.map.tileAttribution || "") });
    tiles.on("tileerror", () => { element.dataset.tiles = "unavailable"; });
    tiles.on("tileload", () => { element.dataset.tiles = "loaded"; });
    tiles.addTo(map);
  }
  // Leaflet's own buttons get names in the page's language.
  const zoomIn = element.querySelector(".leaflet-control-zoom-in");
  const zoomOut = element.querySelector(".leaflet-control-zoom-out");
  if (zoomIn) { zoomIn.setAttribute("aria-label", t("Zoom in")); zoomIn.title = t("Zoom in"); }
  if (zoomOut) { zoomOut.setAttribute("aria-label", t("Zoom out")); zoomOut.title = t("Zoom out"); }
  return map;
}

function escapeText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}

/** A vehicle marker: a focusable button-like element whose data-* attributes say where it is. */
export function vehicleIcon(status, course) {
  const arrow = document.createElement("span");
  arrow.className = "arrow";
  setCourse(arrow, course);
  return L.divIcon({ className: `vehicle-marker status-${status}`, html: arrow, iconSize: [22, 22], iconAnchor: [11, 11] });
}

/** Turn a marker's arrow to the heading (through CSSOM: the CSP allows no inline style). */
export function setCourse(arrow, course) {
  arrow.style.setProperty("--course", `${Number.isFinite(course) ? course : 0}deg`);
}

/** Colour for a speed (km/h) on the green–amber–red ramp of the history and player tracks. */
export function speedColour(kmh) {
  if (kmh == null) return "#6b7280";
  if (kmh < 30) return "#1a9850";
  if (kmh < 60) return "#91cf60";
  if (kmh < 90) return "#fdae61";
  if (kmh < 120) return "#f46d43";
  return "#d73027";
}
