// The devices page: the list (rename, delete), adding a device with its set-up instructions,
// and, for operators, claiming devices that called in before anyone registered them.
import { api, apiAll, config, el, format, t, toast } from "./core.js";
import { clearErrors, generalMessage, handleSubmit } from "./forms.js";
import { PROTOCOLS, instructions } from "./setup.js";

const data = config.data || {};
const gateways = data.gateways;
const roles = data.roles || {};
const cards = document.getElementById("device-cards");
const setup = document.getElementById("setup");
const form = document.getElementById("add-form");

const manages = (device) => ["owner", "manager"].includes(roles[device.organization_id]);
const protocolLabel = (name) => (PROTOCOLS[name] ? PROTOCOLS[name].label() : name);

function statusText(status) {
  if (status === "online") return t("Online");
  if (status === "offline") return t("Offline");
  return t("Never seen");
}

// ---- Set-up instructions -------------------------------------------------------------------

let shownId = null; // the device whose instructions are open

function showSetup(device) {
  shownId = device.id;
  document.getElementById("setup-heading").textContent = t("Set up {name}", { name: device.name });
  document.getElementById("setup-body").replaceChildren(...instructions(device, gateways));
  setup.hidden = false;
  setup.scrollIntoView({ block: "start" });
  setup.focus();
}

document.getElementById("close-setup").addEventListener("click", () => {
  setup.hidden = true;
  document.getElementById("list-heading").scrollIntoView({ block: "start" });
});

// ---- The list ------------------------------------------------------------------------------

function renameForm(device, card) {
  const input = el("input", {
    id: `rename-${device.id}`, name: "name", value: device.name, maxlength: 120, required: true,
    autocomplete: "off",
  });
  const rename = el("form", { class: "rename-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: input.id }, t("New name for {name}", { name: device.name })),
      input),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary" }, t("Save")),
      el("button", { type: "button", onclick: () => { rename.remove(); card.querySelector(".rename").focus(); } }, t("Cancel"))));
  handleSubmit(rename, async (values) => {
    await api(`devices/${device.id}`, { method: "PATCH", body: { name: values.get("name") } });
    toast(t("Device renamed."));
    await loadDevices(device.id);
  });
  return { rename, input };
}

function card(device) {
  const item = el("li", { class: "device-card", dataset: { deviceId: device.id, status: device.status } },
    el("h3", { class: "device-name" }, device.name),
    el("dl", { class: "facts" },
      el("dt", {}, t("Kind")), el("dd", {}, protocolLabel(device.protocol)),
      el("dt", {}, PROTOCOLS[device.protocol] ? PROTOCOLS[device.protocol].idName() : t("Identifier")),
      el("dd", {}, el("code", {}, device.unique_id)),
      el("dt", {}, t("Status")),
      el("dd", {}, el("span", { class: `status status-${device.status}` }, statusText(device.status))),
      el("dt", {}, t("Last seen")),
      el("dd", {}, device.last_seen_at
        ? el("time", { datetime: device.last_seen_at, title: format.dateTime(device.last_seen_at) }, format.ago(device.last_seen_at))
        : "–")));
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", "aria-label": t("Set-up instructions for {name}", { name: device.name }), onclick: () => showSetup(device) },
      t("Set-up instructions")));
  if (manages(device)) {
    const renameButton = el("button", { type: "button", class: "rename", "aria-label": t("Rename {name}", { name: device.name }) }, t("Rename"));
    renameButton.addEventListener("click", () => {
      if (item.querySelector(".rename-form")) return;
      const { rename, input } = renameForm(device, item);
      actions.after(rename);
      input.select();
      input.focus();
    });
    actions.append(
      renameButton,
      el("button", { type: "button", class: "danger", "aria-label": t("Delete {name}", { name: device.name }), onclick: () => askDelete(device) },
        t("Delete")));
  }
  item.append(actions);
  return item;
}

async function loadDevices(focusId) {
  const loading = document.getElementById("devices-loading");
  try {
    const devices = await apiAll("devices");
    cards.replaceChildren(...devices.map(card));
    document.getElementById("no-devices").hidden = devices.length > 0;
    document.getElementById("device-count").textContent = devices.length ? `(${devices.length})` : "";
    loading.hidden = true;
    if (focusId) {
      const again = cards.querySelector(`[data-device-id="${CSS.escape(focusId)}"] .rename`);
      if (again) again.focus();
    }
  } catch (failure) {
    loading.textContent = generalMessage(failure);
  }
}

// ---- Deleting ------------------------------------------------------------------------------

const dialog = document.getElementById("delete-dialog");
let deleting = null;

function askDelete(device) {
  deleting = device;
  document.getElementById("delete-text").textContent = t(
    "{name} and every position it reported will be deleted. If it still reports, it will wait to be claimed again.",
    { name: device.name });
  dialog.showModal();
}

dialog.addEventListener("close", async () => {
  const device = deleting;
  deleting = null;
  if (!device || dialog.returnValue !== "delete") return;
  try {
    await api(`devices/${device.id}`, { method: "DELETE" });
    toast(t("{name} was deleted.", { name: device.name }));
    if (shownId === device.id) setup.hidden = true;
    await loadDevices();
  } catch (failure) {
    toast(generalMessage(failure));
  }
});

// ---- Adding --------------------------------------------------------------------------------

function protocolChanged() {
  const protocol = PROTOCOLS[form.elements.protocol.value];
  const input = form.elements.unique_id;
  document.getElementById("unique-id-label").textContent = protocol.idLabel();
  document.getElementById("unique-id-hint").textContent = protocol.idHint();
  input.inputMode = protocol.numeric ? "numeric" : "text";
}

if (form) {
  const organizations = data.organizations || [];
  const select = form.elements.organization_id;
  select.replaceChildren(...organizations.map((org) => el("option", { value: org.id }, org.name)));
  document.getElementById("organization-field").hidden = organizations.length < 2;
  form.elements.protocol.addEventListener("change", () => {
    clearErrors(form);
    protocolChanged();
  });
  protocolChanged();

  handleSubmit(form, async (values) => {
    const body = { name: values.get("name"), protocol: values.get("protocol"), unique_id: values.get("unique_id") };
    if (organizations.length > 1) body.organization_id = values.get("organization_id");
    const device = await api("devices", { method: "POST", body });
    form.reset();
    protocolChanged();
    toast(t("{name} was added.", { name: device.name }));
    await Promise.all([loadDevices(), loadPending()]);
    showSetup(device);
  }, {
    messages: {
      unique_id: (failure) => (failure.status === 409
        ? t("A device of this kind with this identifier is already registered.")
        : PROTOCOLS[form.elements.protocol.value].idProblem()),
    },
  });
}

document.getElementById("add-link")?.addEventListener("click", (click) => {
  click.preventDefault();
  document.getElementById("add-heading").scrollIntoView({ block: "start" });
  form.elements.name.focus();
});

// ---- Pending devices (operators) -----------------------------------------------------------

function claim(pending) {
  clearErrors(form);
  form.elements.protocol.value = pending.protocol;
  protocolChanged();
  form.elements.unique_id.value = pending.unique_id;
  form.elements.name.value = "";
  document.getElementById("add-heading").scrollIntoView({ block: "start" });
  form.elements.name.focus();
  toast(t("Give the device a name, then add it."));
}

async function loadPending() {
  if (!data.operator) return;
  const status = document.getElementById("pending-status");
  try {
    const pending = await apiAll("pending-devices");
    document.getElementById("pending-list").replaceChildren(...pending.map((row) => el("li", { class: "pending-item" },
      el("h3", {}, el("code", {}, row.unique_id)),
      el("dl", { class: "facts" },
        el("dt", {}, t("Kind")), el("dd", {}, protocolLabel(row.protocol)),
        el("dt", {}, t("First seen")),
        el("dd", {}, el("time", { datetime: row.first_seen_at }, format.dateTime(row.first_seen_at))),
        el("dt", {}, t("Last seen")),
        el("dd", {}, el("time", { datetime: row.last_seen_at }, format.dateTime(row.last_seen_at))),
        el("dt", {}, t("Attempts")), el("dd", {}, String(row.attempts))),
      form ? el("button", { type: "button", "aria-label": t("Claim {id}", { id: row.unique_id }), onclick: () => claim(row) }, t("Claim")) : null)));
    status.textContent = pending.length ? "" : t("No device is waiting.");
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

loadDevices();
loadPending();
