// Admin › Privacy registers (operators): people's requests with their due dates, the
// disclosure register (record one; the people are told) and the breach register (record one,
// mark the authority told, mail the people affected).
import { api, el, format, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";
import { confirmAction, data, onSubmit } from "./admin-common.js";

const CATEGORY_LABELS = {
  account: () => t("Account"),
  contact: () => t("Contact details"),
  credential: () => t("Credentials"),
  location: () => t("Location"),
  video: () => t("Video"),
  diagnostics: () => t("Diagnostics"),
  access_log: () => t("Access logs"),
  consent: () => t("Consent records"),
  lead: () => t("Sales leads"),
  communication: () => t("Messages"),
  organisation: () => t("Organisation"),
  accountability: () => t("Registers"),
};
const categoryLabel = (name) => (CATEGORY_LABELS[name] ? CATEGORY_LABELS[name]() : name);
const categoriesText = (names) => names.map(categoryLabel).join(", ");

/** Now, as a datetime-local input wants it (the viewer's own zone, to the minute). */
function localNow() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** A datetime-local value as ISO 8601 with offset (UTC), or "" when empty or invalid. */
function isoOf(value) {
  const moment = value ? new Date(value) : null;
  return moment && !Number.isNaN(moment.getTime()) ? moment.toISOString() : "";
}

function categoryBoxes(fieldset, prefix) {
  for (const name of data.categories || []) {
    const id = `${prefix}-${name}`;
    fieldset.append(el("div", { class: "field inline" },
      el("input", { type: "checkbox", id, name: "categories", value: name }),
      el("label", { for: id }, categoryLabel(name))));
  }
}

const time = (value) => (value ? el("time", { datetime: value }, format.dateTime(value)) : "–");

// ---- Requests ------------------------------------------------------------------------------

function requestKind(kind) {
  return { export: t("Export"), erasure: t("Erasure") }[kind] || kind;
}

function requestStatus(request) {
  const open = !request.completed_at && request.status !== "done";
  if (open && new Date(request.due_at) < new Date()) return el("strong", { class: "urgent" }, t("Overdue"));
  return {
    received: t("Received"), processing: t("In progress"), done: t("Done"), failed: t("Failed"),
  }[request.status] || request.status;
}

async function loadRequests() {
  const status = document.getElementById("requests-status");
  try {
    const requests = await api("privacy/requests");
    document.getElementById("requests-rows").replaceChildren(...requests.map((request) => el("tr", {},
      el("th", { scope: "row" }, requestKind(request.kind)),
      el("td", {}, requestStatus(request)),
      el("td", {}, time(request.created_at)),
      el("td", {}, time(request.due_at)),
      el("td", {}, time(request.completed_at)))));
    document.getElementById("requests-table").hidden = requests.length === 0;
    status.textContent = requests.length ? "" : t("Nobody has asked for an export or erasure yet.");
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

// ---- Disclosures ---------------------------------------------------------------------------

function disclosureCard(row) {
  const told = row.subjects.filter((s) => s.told_at).length;
  return el("li", { class: "admin-card" },
    el("h3", {}, row.recipient),
    el("dl", { class: "facts" },
      el("dt", {}, t("Disclosed on")), el("dd", {}, time(row.disclosed_at)),
      el("dt", {}, t("Purpose")), el("dd", {}, row.purpose),
      el("dt", {}, t("Data")), el("dd", {}, categoriesText(row.categories)),
      el("dt", {}, t("Legal basis")), el("dd", {}, row.legal_basis),
      el("dt", {}, t("People")), el("dd", {}, t("{count} concerned, {told} told", { count: row.subjects.length, told }))));
}

async function loadDisclosures() {
  const status = document.getElementById("disclosures-status");
  try {
    const rows = await api("privacy/disclosures");
    document.getElementById("disclosure-list").replaceChildren(...rows.map(disclosureCard));
    status.textContent = rows.length ? "" : t("No disclosure has been recorded.");
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

const disclosureForm = document.getElementById("disclosure-form");
const disclosureCategories = document.getElementById("disclosure-categories");
categoryBoxes(disclosureCategories, "disclosure-category");
disclosureForm.elements.disclosed_at.value = localNow();
disclosureForm.elements.tell.addEventListener("change", () => {
  document.getElementById("disclosure-reason-field").hidden = disclosureForm.elements.tell.checked;
});

onSubmit(disclosureForm, async (values) => {
  const tell = disclosureForm.elements.tell.checked;
  const people = String(values.get("subjects")).split(/[\s,;]+/).filter(Boolean);
  const made = await api("privacy/disclosures", {
    method: "POST",
    body: {
      recipient: values.get("recipient"),
      purpose: values.get("purpose"),
      legal_basis: values.get("legal_basis"),
      disclosed_at: isoOf(values.get("disclosed_at")),
      categories: values.getAll("categories"),
      subjects: people.map((email) => ({ email, tell, not_told_reason: tell ? "" : values.get("not_told_reason") })),
    },
  });
  disclosureForm.reset();
  disclosureForm.elements.disclosed_at.value = localNow();
  document.getElementById("disclosure-reason-field").hidden = true;
  await loadDisclosures();
  toast(t("Disclosure recorded. People being told: {told} of {count}.", { told: made.told, count: made.people }));
}, {
  at: { categories: disclosureCategories.querySelector("input") || "categories", not_told_reason: "not_told_reason" },
  messages: {
    categories: () => t("Choose the kinds of data disclosed."),
    subjects: (failure) => (String(failure.problem.detail || "").includes("no account")
      ? t("One of these addresses has no account.")
      : t("Enter each person’s email address once, one a line.")),
    disclosed_at: () => t("Enter the date and time."),
    not_told_reason: () => t("Name the legal reason for not telling them."),
    recipient: () => t("Name the recipient (2 to 200 characters)."),
    purpose: () => t("Give the purpose (3 to 300 characters)."),
    legal_basis: () => t("Give the legal basis (3 to 200 characters)."),
  },
});

// ---- Breaches ------------------------------------------------------------------------------

function deadlineText(breach) {
  const when = format.dateTime(breach.authority_deadline);
  switch (breach.deadline_status) {
    case "open": return t("Tell the authority by {time} ({hours} hours left).", { time: when, hours: Math.max(0, Math.floor(breach.hours_left)) });
    case "overdue": return t("Overdue: the authority had to be told by {time}.", { time: when });
    case "notified": return t("The authority was told on {time}.", { time: format.dateTime(breach.authority_notified_at) });
    case "notified_late": return t("The authority was told late, on {time}.", { time: format.dateTime(breach.authority_notified_at) });
    default: return breach.deadline_status;
  }
}

function breachCard(breach) {
  const urgent = breach.deadline_status === "open" || breach.deadline_status === "overdue";
  const card = el("li", { class: "admin-card", dataset: { breachId: breach.id } },
    el("h3", {}, t("Breach found on {time}", { time: format.dateTime(breach.detected_at) })),
    el("p", { class: urgent ? "urgent" : "" }, deadlineText(breach)),
    el("p", { class: "description" }, breach.description),
    el("dl", { class: "facts" },
      el("dt", {}, t("Data")), el("dd", {}, categoriesText(breach.categories)),
      el("dt", {}, t("People told")), el("dd", {}, breach.people_notified_at ? time(breach.people_notified_at) : t("Not yet"))));
  const actions = el("div", { class: "actions" });
  if (!breach.authority_notified_at) {
    actions.append(el("button", {
      type: "button", "aria-label": t("Record that the authority was told about the breach of {time}", { time: format.dateTime(breach.detected_at) }),
      onclick: () => authorityTold(breach),
    }, t("Authority told")));
  }
  actions.append(el("button", {
    type: "button", class: "primary", "aria-label": t("Notify the people affected by the breach of {time}", { time: format.dateTime(breach.detected_at) }),
    onclick: () => notifyPeople(breach),
  }, t("Notify people affected")));
  card.append(actions);
  return card;
}

async function authorityTold(breach) {
  try {
    await api(`privacy/breaches/${breach.id}/authority-notified`, { method: "POST", body: {} });
    await loadBreaches();
    toast(t("Recorded: the authority was told."));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

async function notifyPeople(breach) {
  try {
    const details = await api(`privacy/breaches/${breach.id}`);
    const yes = await confirmAction({
      heading: t("Notify the people affected?"),
      text: t("People with data of these kinds: {count}. Each is mailed once, with the description of the breach; people told before are not mailed again.", { count: details.affected_people }),
      confirm: t("Mail them"),
    });
    if (!yes) return;
    const counts = await api(`privacy/breaches/${breach.id}/notify`, { method: "POST" });
    await loadBreaches();
    toast(t("People notified: {count}.", { count: counts.notified }));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

async function loadBreaches() {
  const status = document.getElementById("breaches-status");
  try {
    const rows = await api("privacy/breaches");
    document.getElementById("breach-list").replaceChildren(...rows.map(breachCard));
    status.textContent = rows.length ? "" : t("No breach has been recorded.");
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

const breachForm = document.getElementById("breach-form");
const breachCategories = document.getElementById("breach-categories");
categoryBoxes(breachCategories, "breach-category");
breachForm.elements.detected_at.value = localNow();

onSubmit(breachForm, async (values) => {
  await api("privacy/breaches", {
    method: "POST",
    body: {
      detected_at: isoOf(values.get("detected_at")),
      description: values.get("description"),
      categories: values.getAll("categories"),
    },
  });
  breachForm.reset();
  breachForm.elements.detected_at.value = localNow();
  await loadBreaches();
  toast(t("Breach recorded."));
}, {
  at: { categories: breachCategories.querySelector("input") || "categories" },
  messages: {
    categories: () => t("Choose the kinds of data affected."),
    detected_at: (failure) => (String(failure.problem.detail || "").includes("future")
      ? t("The time lies in the future.")
      : t("Enter the date and time.")),
    description: () => t("Describe what happened in at least 10 characters."),
  },
});

loadRequests();
loadDisclosures();
loadBreaches();
