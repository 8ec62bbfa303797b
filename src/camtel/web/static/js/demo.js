// Booking a demo: the free times shown by day in the visitor's own time zone, booked through
// POST /api/v1/demo-bookings; a time someone else took first is refused and the list refreshed.
import { ApiError, api, config, el, lang, t } from "./core.js";
import { clearErrors, showFailure } from "./forms.js";

const form = document.getElementById("booking-form");
const days = document.getElementById("slot-days");
const noSlots = document.getElementById("no-slots");
const slotError = document.getElementById("start-error");
const slotGroup = document.getElementById("start");
const booked = document.getElementById("booked");
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
let slots = config.data.slots || [];

// The page's language, in the visitor's own variant of it (en-GB reads 14:30, en-US 2:30 PM).
const locale = (navigator.languages || []).find((tag) => tag.split("-")[0] === lang) || lang;
const dayName = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long" });
const dayKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" });
const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
const full = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" });

form.elements.namedItem("time_zone").value = zone;
document.getElementById("zone-note").textContent = t("Times are shown in your time zone, {zone}.", { zone });

/** The free times grouped by the visitor's calendar day, as radio buttons. */
function drawSlots() {
  const chosen = form.elements.namedItem("start");
  const keep = chosen && "value" in chosen ? chosen.value : "";
  const drawn = days.querySelector("details[data-day]") !== null;
  const openDays = new Set([...days.querySelectorAll("details[open][data-day]")].map((d) => d.dataset.day));
  const byDay = new Map();
  for (const slot of slots) {
    const key = dayKey.format(new Date(slot.start));
    if (!byDay.has(key)) byDay.set(key, []);
    byDay.get(key).push(slot);
  }
  let index = 0;
  const groups = [...byDay].map(([key, list], position) => {
    const holdsChoice = list.some((slot) => slot.start === keep);
    const details = el("details", { class: "slot-day", dataset: { day: key } },
      el("summary", {}, el("span", { class: "day" }, dayName.format(new Date(list[0].start))), " ",
        el("span", { class: "count" }, list.length === 1 ? t("1 free time") : t("{count} free times", { count: list.length }))),
      el("ul", { class: "slot-list" }, list.map((slot) => {
        const id = `slot-${index++}`;
        return el("li", {},
          el("input", { type: "radio", name: "start", id, value: slot.start, checked: slot.start === keep }),
          el("label", { for: id }, el("time", { datetime: slot.start }, clock.format(new Date(slot.start)))));
      })));
    details.open = holdsChoice || openDays.has(key) || ((!drawn || openDays.size === 0) && position === 0);
    return details;
  });
  days.replaceChildren(...groups);
  noSlots.hidden = slots.length > 0;
}

async function refreshSlots() {
  try {
    slots = (await api("demo-slots")).slots;
  } catch { /* keep the list we have; the server judges the booking anyway */ }
  drawSlots();
}

function slotRefused(message) {
  slotError.textContent = message;
  slotGroup.setAttribute("aria-invalid", "true");
  slotError.scrollIntoView({ block: "center" });
}

function fieldOf(problem) {
  if (problem.field) return String(problem.field);
  const location = problem.errors && problem.errors[0] && problem.errors[0].location;
  return location && location.length ? String(location[location.length - 1]) : "";
}

form.addEventListener("change", (change) => {
  if (change.target.name === "start") {
    slotError.textContent = "";
    slotGroup.removeAttribute("aria-invalid");
  }
});

form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  clearErrors(form);
  slotError.textContent = "";
  slotGroup.removeAttribute("aria-invalid");
  const fields = new FormData(form);
  const body = {
    name: fields.get("name") || "",
    email: fields.get("email") || "",
    company: fields.get("company") || "",
    message: fields.get("message") || "",
    time_zone: zone,
    language: lang === "de" ? "de" : "en",
  };
  if (fields.get("start")) body.start = fields.get("start");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const answer = await api("demo-bookings", { method: "POST", body, reauth: false });
    slots = slots.filter((slot) => slot.start !== answer.start);
    form.reset();
    form.elements.namedItem("time_zone").value = zone;
    drawSlots();
    const time = `${full.format(new Date(answer.start))}–${clock.format(new Date(answer.end))}`;
    booked.replaceChildren(
      el("h2", {}, t("Your demo is booked")),
      el("p", {}, t("{time}, your time. We have mailed the invitation to {email}.", { time, email: answer.mailed_to })));
    booked.hidden = false;
    booked.focus();
  } catch (failure) {
    const problem = failure instanceof ApiError ? failure.problem : {};
    const field = fieldOf(problem);
    if (failure instanceof ApiError && failure.status === 409 && field === "start") {
      slotRefused(t("Someone has just booked this time. Please choose another."));
      await refreshSlots();
    } else if (failure instanceof ApiError && field === "start") {
      const missing = (problem.errors || []).some((e) => e.type === "missing");
      slotRefused(missing ? t("Choose a time for the demo.") : t("This time can no longer be booked. Please choose another."));
      if (!missing) await refreshSlots();
    } else {
      showFailure(form, failure, {
        messages: {
          email: (f) => (f.problem.code === "too_many"
            ? t("This address already has two demos booked. Cancel one with the link in its mail first.")
            : t("Enter a valid email address.")),
          company: () => t("Use at most {count} characters.", { count: 200 }),
          message: () => t("Use at most {count} characters.", { count: 2000 }),
        },
      });
    }
  } finally {
    button.disabled = false;
  }
});

drawSlots();
