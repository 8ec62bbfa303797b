// Admin › Retention and legal holds: the periods in force (camtel's or the organisation's
// own), setting and clearing one; legal holds in force, placing and releasing one.
import { api, apiAll, el, format, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";
import { confirmAction, onSubmit, orgPath, organization } from "./admin-common.js";

function targetLabel(table) {
  return {
    positions: t("Positions"),
    events: t("Events"),
    inbox_items: t("Alerts in people’s inboxes"),
    outbox_mail: t("Mail sent"),
    digest_log: t("Digest mail log"),
    access_log: t("Sign-in log"),
    device_access_log: t("Device connection log"),
    "media.normal": t("Recordings"),
    "media.event": t("Event and locked recordings"),
  }[table] || table;
}

const days = (count) => (count === 1 ? t("1 day") : t("{count} days", { count }));

// ---- Retention periods ---------------------------------------------------------------------

const rows = document.getElementById("retention-rows");
const table = document.getElementById("retention-table");
const retentionStatus = document.getElementById("retention-status");
const retentionForm = document.getElementById("retention-form");
const choice = retentionForm.elements.table;

function row(target) {
  const own = target.days != null;
  return el("tr", { dataset: { table: target.table } },
    el("th", { scope: "row" }, targetLabel(target.table)),
    el("td", {}, target.default_days == null ? "–" : days(target.default_days)),
    el("td", { class: own ? "own" : "" }, own ? t("{days} (your own)", { days: days(target.days) }) : t("camtel’s")),
    el("td", {}, own
      ? el("button", {
        type: "button", class: "link-button",
        "aria-label": t("Go back to camtel’s period for {data}", { data: targetLabel(target.table) }),
        onclick: () => clearOverride(target),
      }, t("Back to camtel’s period"))
      : ""));
}

async function clearOverride(target) {
  try {
    await api(orgPath(`/retention/${encodeURIComponent(target.table)}`), { method: "DELETE" });
    await loadRetention();
    toast(t("{data}: camtel’s period applies again.", { data: targetLabel(target.table) }));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

async function loadRetention() {
  try {
    const targets = await api(orgPath("/retention"));
    rows.replaceChildren(...targets.map(row));
    table.hidden = false;
    retentionStatus.textContent = "";
    const chosen = choice.value;
    choice.replaceChildren(...targets.map((target) => el("option", { value: target.table }, targetLabel(target.table))));
    if (chosen) choice.value = chosen;
  } catch (failure) {
    retentionStatus.textContent = generalMessage(failure);
  }
}

onSubmit(retentionForm, async (values) => {
  const count = Number(values.get("days"));
  await api(orgPath("/retention"), { method: "PUT", body: { table: values.get("table"), days: count } });
  await loadRetention();
  toast(t("{data}: kept {days} from now on.", { data: targetLabel(values.get("table")), days: days(count) }));
}, {
  messages: {
    days: () => t("Enter a number of days from 1 to 3,650."),
    table: () => t("Choose one of the listed kinds of data."),
  },
});

// ---- Legal holds ---------------------------------------------------------------------------

const holdList = document.getElementById("hold-list");
const releasedList = document.getElementById("released-list");
const holdsStatus = document.getElementById("holds-status");
const holdForm = document.getElementById("hold-form");
const subject = holdForm.elements.subject;
let names = new Map();

function holdCard(hold) {
  const what = hold.device_id
    ? t("Device {name}", { name: names.get(hold.device_id) || hold.device_id })
    : t("Member {name}", { name: names.get(hold.user_id) || hold.user_id });
  const card = el("li", { class: "admin-card", dataset: { holdId: hold.id } },
    el("h3", {}, what),
    el("dl", { class: "facts" },
      el("dt", {}, t("Reason")), el("dd", {}, hold.reason),
      el("dt", {}, t("Since")), el("dd", {}, el("time", { datetime: hold.created_at }, format.dateTime(hold.created_at))),
      hold.released_at ? [el("dt", {}, t("Released")), el("dd", {}, el("time", { datetime: hold.released_at }, format.dateTime(hold.released_at)))] : null));
  if (!hold.released_at) {
    card.append(el("div", { class: "actions" },
      el("button", {
        type: "button", class: "danger", "aria-label": t("Release the hold on {what}", { what }),
        onclick: () => release(hold, what),
      }, t("Release"))));
  }
  return card;
}

async function release(hold, what) {
  const yes = await confirmAction({
    heading: t("Release the hold on {what}?", { what }),
    text: t("Its data is deleted again when its period is over, including data the hold kept past it."),
    confirm: t("Release hold"),
  });
  if (!yes) return;
  try {
    await api(orgPath(`/legal-holds/${hold.id}`), { method: "DELETE" });
    await loadHolds();
    toast(t("The hold on {what} was released.", { what }));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

async function loadHolds() {
  try {
    const [holds, devices, members] = await Promise.all([
      api(orgPath("/legal-holds")), apiAll("devices"), api(orgPath("/members")),
    ]);
    const mine = devices.filter((device) => device.organization_id === organization.id);
    names = new Map([
      ...mine.map((device) => [device.id, device.name]),
      ...members.map((member) => [member.user_id, member.display_name || member.email]),
    ]);
    const chosen = subject.value;
    subject.replaceChildren(
      el("optgroup", { label: t("Devices") }, ...mine.map((device) => el("option", { value: `device:${device.id}` }, device.name))),
      el("optgroup", { label: t("Members") }, ...members.map((member) => el("option", { value: `user:${member.user_id}` }, member.display_name || member.email))));
    if (chosen) subject.value = chosen;
    const inForce = holds.filter((hold) => !hold.released_at);
    const released = holds.filter((hold) => hold.released_at);
    holdList.replaceChildren(...inForce.map(holdCard));
    releasedList.replaceChildren(...released.map(holdCard));
    document.getElementById("released-holds").hidden = released.length === 0;
    holdsStatus.textContent = inForce.length ? "" : t("No legal hold is in force.");
  } catch (failure) {
    holdsStatus.textContent = generalMessage(failure);
  }
}

onSubmit(holdForm, async (values) => {
  const [kind, id] = String(values.get("subject")).split(":");
  const body = { reason: values.get("reason") };
  body[kind === "device" ? "device_id" : "user_id"] = id;
  await api(orgPath("/legal-holds"), { method: "POST", body });
  holdForm.elements.reason.value = "";
  await loadHolds();
  toast(t("Legal hold placed."));
}, {
  at: { device_id: "subject", user_id: "subject" },
  messages: {
    device_id: () => t("Choose a device of this organisation."),
    user_id: () => t("Choose a member of this organisation."),
    reason: () => t("Give a reason of 3 to 300 characters."),
  },
});

loadRetention();
loadHolds();
