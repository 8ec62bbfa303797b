// Admin › Groups and drivers: the organisation's groups (add, rename, delete), and for each
// of its devices the group it is in and the member who drives it.
import { api, apiAll, el, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";
import { confirmAction, onSubmit, orgPath, organization, roleLabel } from "./admin-common.js";

const groupList = document.getElementById("group-list");
const groupStatus = document.getElementById("groups-status");
const assignList = document.getElementById("assign-list");
const devicesStatus = document.getElementById("devices-status");

let groups = [];
let members = [];

const groupNameMessages = {
  name: (failure) => (failure.status === 409 ? t("A group with this name exists already.") : t("Enter a name of at most 120 characters.")),
};

// ---- Groups --------------------------------------------------------------------------------

function renameForm(group, card) {
  const id = `group-rename-${group.id}`;
  const input = el("input", { id, name: "name", value: group.name, maxlength: 120, required: true, autocomplete: "off" });
  const form = el("form", { class: "rename-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: id }, t("New name for {name}", { name: group.name })), input),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary" }, t("Save")),
      el("button", { type: "button", onclick: () => { form.remove(); card.querySelector(".rename").focus(); } }, t("Cancel"))));
  onSubmit(form, async (values) => {
    await api(`groups/${group.id}`, { method: "PATCH", body: { name: values.get("name") } });
    await load();
    toast(t("Group renamed."));
  }, { messages: groupNameMessages });
  return { form, input };
}

function groupCard(group) {
  const count = devicesOf(group.id).length;
  const card = el("li", { class: "admin-card", dataset: { groupId: group.id } },
    el("h3", {}, group.name),
    el("p", { class: "muted" }, count === 1 ? t("1 device") : t("{count} devices", { count })));
  const rename = el("button", { type: "button", class: "rename", "aria-label": t("Rename {name}", { name: group.name }) }, t("Rename"));
  rename.addEventListener("click", () => {
    if (card.querySelector(".rename-form")) return;
    const { form, input } = renameForm(group, card);
    card.append(form);
    input.select();
    input.focus();
  });
  card.append(el("div", { class: "actions" }, rename,
    el("button", {
      type: "button", class: "danger", "aria-label": t("Delete {name}", { name: group.name }),
      onclick: () => removeGroup(group),
    }, t("Delete"))));
  return card;
}

async function removeGroup(group) {
  const yes = await confirmAction({
    heading: t("Delete the group {name}?", { name: group.name }),
    text: t("Its devices stay, in no group."),
    confirm: t("Delete group"),
  });
  if (!yes) return;
  try {
    await api(`groups/${group.id}`, { method: "DELETE" });
    await load();
    toast(t("The group {name} was deleted.", { name: group.name }));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

onSubmit(document.getElementById("group-form"), async (values) => {
  await api("groups", { method: "POST", body: { name: values.get("name"), organization_id: organization.id } });
  document.getElementById("group-name").value = "";
  await load();
  toast(t("Group added."));
}, { messages: groupNameMessages });

// ---- Devices -------------------------------------------------------------------------------

let devices = [];
const devicesOf = (groupId) => devices.filter((device) => device.group_id === groupId);

function assignCard(device) {
  const groupId = `device-group-${device.id}`;
  const driverId = `device-driver-${device.id}`;
  const form = el("form", { class: "assign-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: groupId }, t("Group of {name}", { name: device.name })),
      el("select", { id: groupId, name: "group_id" },
        el("option", { value: "" }, t("No group")),
        ...groups.map((group) => el("option", { value: group.id, selected: group.id === device.group_id }, group.name)))),
    el("div", { class: "field" },
      el("label", { for: driverId }, t("Driver of {name}", { name: device.name })),
      el("select", { id: driverId, name: "driver_id" },
        el("option", { value: "" }, t("No driver")),
        ...members.map((member) => el("option", { value: member.user_id, selected: member.user_id === device.driver_id },
          `${member.display_name || member.email} (${roleLabel(member.role)})`)))),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "actions" },
      el("button", { type: "submit", "aria-label": t("Save group and driver of {name}", { name: device.name }) }, t("Save"))));
  onSubmit(form, async (values) => {
    await api(`devices/${device.id}`, {
      method: "PATCH",
      body: { group_id: values.get("group_id") || null, driver_id: values.get("driver_id") || null },
    });
    await load();
    toast(t("{name} saved.", { name: device.name }));
  });
  return el("li", { class: "admin-card", dataset: { deviceId: device.id } }, el("h3", {}, device.name), form);
}

async function load() {
  try {
    const [allGroups, allDevices, people] = await Promise.all([
      api("groups"), apiAll("devices"), api(orgPath("/members")),
    ]);
    groups = allGroups.filter((group) => group.organization_id === organization.id);
    devices = allDevices.filter((device) => device.organization_id === organization.id);
    members = people;
    groupList.replaceChildren(...groups.map(groupCard));
    groupStatus.textContent = groups.length ? "" : t("No groups yet.");
    assignList.replaceChildren(...devices.map(assignCard));
    devicesStatus.textContent = devices.length ? "" : t("This organisation has no devices yet.");
  } catch (failure) {
    groupStatus.textContent = generalMessage(failure);
    devicesStatus.textContent = "";
  }
}

load();
