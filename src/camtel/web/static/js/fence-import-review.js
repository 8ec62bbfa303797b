// Importing geofences on the geofences page: a GPX or GeoJSON file is read in the browser, its
// shapes are drawn as drafts and listed to rename, pick and save; refusals stay beside them.
import { el, format, t, toast } from "./core.js";
import { parseFenceFile } from "./fence-import.js";
import { COLOURS, DRAFT_STYLE, shapeLayer, widen } from "./fence-layers.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const MAX_FILE_BYTES = 20 * 1024 * 1024;

function kindText(shape) {
  if (shape.kind === "circle") return t("Circle, radius {radius}", { radius: format.distance(shape.radius_m) });
  if (shape.kind === "corridor") return t("Corridor");
  return t("Area");
}

/** Wire the import controls; `save(body)` creates one fence (and shows it) or throws. */
export function setupImport({ map, save, afterSave }) {
  /** [{shape, layer, row, inputs}] */
  let drafts = [];
  const review = $("import-review");
  const problem = $("import-error");
  const widthOf = (draft) => (draft.inputs.width ? Number(draft.inputs.width.value) : null);

  map.on("zoomend", () => {
    for (const draft of drafts) if (draft.shape.kind === "corridor") widen(map, draft.layer, widthOf(draft));
  });

  function clear() {
    for (const draft of drafts) draft.layer.remove();
    drafts = [];
    $("import-list").replaceChildren();
    review.hidden = true;
    problem.textContent = "";
  }

  function refuse(message) {
    clear();
    review.hidden = false;
    $("import-summary").textContent = "";
    problem.textContent = message;
  }

  function show(found, fileName) {
    clear();
    drafts = found.shapes.map((shape, index) => {
      const n = index + 1;
      const use = el("input", { type: "checkbox", id: `import-use-${n}`, checked: true });
      const name = el("input", { id: `import-name-${n}`, value: shape.name, maxlength: "120", autocomplete: "off" });
      const width = shape.kind === "corridor"
        ? el("input", { id: `import-width-${n}`, type: "number", min: "1", step: "any", value: String(shape.width_m) }) : null;
      const error = el("p", { class: "field-error", id: `import-error-${n}` });
      name.setAttribute("aria-describedby", error.id);
      const row = el("li", { class: "import-item", dataset: { testid: "import-item" } },
        el("div", { class: "field inline" }, use, el("label", { for: use.id }, t("Import shape {n}: {kind}", { n, kind: kindText(shape) }))),
        el("div", { class: "field" }, el("label", { for: name.id }, t("Name of shape {n}", { n })), name),
        width ? el("div", { class: "field" }, el("label", { for: width.id }, t("Corridor width of shape {n} (m)", { n })), width) : null,
        error);
      const layer = shapeLayer(map, shape, { ...DRAFT_STYLE, color: COLOURS.imported, pmIgnore: true });
      const draft = { shape, layer, row, inputs: { use, name, width, error } };
      if (width) width.addEventListener("input", () => widen(map, layer, widthOf(draft)));
      return draft;
    });
    $("import-list").replaceChildren(...drafts.map((draft) => draft.row));
    const skipped = found.skipped ? ` ${t("Skipped (points without a radius, waypoints): {count}.", { count: found.skipped })}` : "";
    $("import-summary").textContent = t("Shapes found in {file}: {count}.", { count: drafts.length, file: fileName }) + skipped;
    review.hidden = false;
    const bounds = L.featureGroup(drafts.map((draft) => draft.layer)).getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
    $("import-heading").setAttribute("tabindex", "-1");
    $("import-heading").focus();
  }

  $("import-file").addEventListener("change", async () => {
    const input = $("import-file");
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      if (file.size > MAX_FILE_BYTES) throw new RangeError("too large");
      const found = parseFenceFile(file.name, await file.text());
      if (found.shapes.length) show(found, file.name);
      else refuse(t("No areas, routes or circles were found in {file}.", { file: file.name }));
    } catch {
      refuse(t("{file} could not be read as GPX or GeoJSON.", { file: file.name }));
    } finally {
      input.value = "";  // the same file may be chosen again
    }
  });

  $("import-discard").addEventListener("click", () => { clear(); $("import-file").focus(); });

  $("import-save").addEventListener("click", async () => {
    const button = $("import-save");
    button.disabled = true;
    problem.textContent = "";
    let saved = 0;
    for (const draft of [...drafts]) {
      const { use, name, error } = draft.inputs;
      if (!use.checked) continue;
      error.textContent = "";
      const body = { name: name.value.trim(), area: draft.shape.area };
      if (draft.shape.kind === "circle") body.radius_m = draft.shape.radius_m;
      if (draft.shape.kind === "corridor") body.width_m = widthOf(draft);
      if (!body.name) { error.textContent = t("Give the geofence a name."); continue; }
      try {
        await save(body);
        draft.layer.remove();
        draft.row.remove();
        drafts = drafts.filter((other) => other !== draft);
        saved += 1;
      } catch (refused) {
        error.textContent = refused.message;
      }
    }
    button.disabled = false;
    if (saved) toast(t("Geofences imported: {count}.", { count: saved }));
    if (!drafts.length) {
      clear();
      afterSave();
    } else problem.textContent = t("Some shapes were not saved; see the messages above.");
  });
}
