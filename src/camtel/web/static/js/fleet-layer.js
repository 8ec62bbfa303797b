// The fleet's vehicle markers: one small element per vehicle in a single map pane, moved with a
// 2D transform. Leaflet's own markers move with translate3d, which makes each one a compositor
// layer; with thousands of vehicles reporting every second, building and committing those
// layers took most of every frame (measured with bench/web_fleet.py). Here the pane is one
// layer and a move is two style writes (left, top). The heading is one of eight pre-drawn
// arrows (a class), not a rotation: a transform per marker gave each its own paint chunk,
// and layerizing thousands of those took up to 100 ms a frame.
const L = window.L;

export class FleetLayer {
  /** Markers on `map`; `onSelect(id)` when one is clicked or activated with the keyboard. */
  constructor(map, { onSelect, label }) {
    this.map = map;
    this.label = label;
    this.markers = new Map(); // id -> {element, heading, status, name, lat, lon}
    this.pane = map.createPane("vehicles");
    this.pane.classList.add("vehicle-pane");
    const activate = (event) => {
      const element = event.target.closest("[data-testid=device-marker]");
      if (element) onSelect(element.dataset.deviceId);
    };
    this.pane.addEventListener("click", activate);
    this.pane.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        activate(event);
      }
    });
    // A click on a marker must not reach the map (no drag, no map click underneath it).
    L.DomEvent.disableClickPropagation(this.pane);
    // Layer points change only when the map's origin is reset (zoom, or a long pan); during a
    // zoom animation the markers are hidden rather than each animated.
    map.on("zoomanim", () => { this.pane.style.visibility = "hidden"; });
    map.on("zoomend viewreset", () => {
      this.placeAll();
      this.pane.style.visibility = "";
    });
  }

  /** Add or move a vehicle's marker. */
  set(id, { latitude, longitude, course, status, name }) {
    let marker = this.markers.get(id);
    if (!marker) {
      const element = document.createElement("div");
      element.className = "vehicle-marker leaflet-interactive";
      element.tabIndex = 0;
      element.setAttribute("role", "button");
      element.dataset.testid = "device-marker";
      element.dataset.deviceId = id;
      this.pane.append(element);
      marker = { element, heading: undefined, status: undefined, name: undefined };
      this.markers.set(id, marker);
    }
    const { element } = marker;
    if (marker.name !== name) {
      marker.name = name;
      element.setAttribute("aria-label", this.label(name));
      element.title = name;
    }
    if (marker.status !== status) {
      if (marker.status) element.classList.remove(`status-${marker.status}`);
      element.classList.add(`status-${status}`);
      marker.status = status;
    }
    const heading = Number.isFinite(course) ? Math.round((((course % 360) + 360) % 360) / 45) % 8 : null;
    if (marker.heading !== heading) {
      if (marker.heading != null) element.classList.remove(`heading-${marker.heading}`);
      if (heading != null) element.classList.add(`heading-${heading}`);
      marker.heading = heading;
    }
    marker.lat = latitude;
    marker.lon = longitude;
    element.dataset.lat = String(latitude);
    element.dataset.lon = String(longitude);
    this.place(marker);
  }

  /** Remove a vehicle's marker. */
  delete(id) {
    const marker = this.markers.get(id);
    if (marker) marker.element.remove();
    this.markers.delete(id);
  }

  place(marker) {
    const point = this.map.latLngToLayerPoint([marker.lat, marker.lon]);
    marker.element.style.left = `${Math.round(point.x)}px`;
    marker.element.style.top = `${Math.round(point.y)}px`;
  }

  placeAll() {
    for (const marker of this.markers.values()) this.place(marker);
  }
}
