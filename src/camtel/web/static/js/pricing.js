// The pricing page: the price follows the visitor's choices, computed by POST /api/v1/quotes
// (the same function that rendered the page), and "Save this quote" posts a lead.
import { ApiError, api, config, el, lang, t } from "./core.js";
import { clearErrors, handleSubmit, markField } from "./forms.js";

const data = config.data;
const form = document.getElementById("quote-form");
const saveForm = document.getElementById("save-form");
const result = document.querySelector(".result");
const linesBody = document.getElementById("quote-lines");
const totalsBody = document.getElementById("quote-totals");
const total = document.getElementById("quote-total");
const totalLabel = document.getElementById("total-label");
const after = document.getElementById("quote-after");
const quoteError = document.getElementById("quote-error");
const saved = document.getElementById("saved");
const barLabel = document.getElementById("price-bar-label");
const barTotal = document.getElementById("price-bar-total");

const currency = new Intl.NumberFormat(lang, { style: "currency", currency: data.currency });
const money = (amount) => currency.format(Number(amount));
const count = new Intl.NumberFormat(lang);
const monthly = (text) => t("{amount} a month", { amount: text });
const groups = [...form.querySelectorAll("fieldset.option-group input[type=radio]")]
  .map((input) => input.name)
  .filter((name, index, names) => names.indexOf(name) === index);

/** The request the form describes, as the API takes it (the server judges every value). */
function request() {
  const fields = new FormData(form);
  const mode = fields.get("mode") || "";
  const body = {
    mode,
    devices: String(fields.get("devices") || "").trim(),
    options: [...fields.getAll("options"), ...groups.map((name) => fields.get(name) || "")].filter(Boolean),
  };
  if (mode === "rent") body.months = String(fields.get("months") || "").trim();
  return body;
}

function query(body) {
  const params = new URLSearchParams({ mode: body.mode, devices: body.devices });
  params.set("months", body.months || document.getElementById("months").value);
  for (const option of body.options) params.append("options", option);
  return params;
}

function lineLabel(line) {
  if (line.code !== "devices") return (data.options[line.code] || {}).label || line.label;
  const product = data.products[line.billing === "once" ? "buy" : "rent"];
  return line.first === line.last
    ? t("{product}, device {number}", { product, number: line.first })
    : t("{product}, devices {first}–{last}", { product, first: line.first, last: line.last });
}

function render(quote) {
  linesBody.replaceChildren(...quote.lines.map((line) => {
    let unit = money(line.unit_price);
    let amount = money(line.amount);
    if (line.billing === "monthly") [unit, amount] = [monthly(unit), monthly(amount)];
    return el("tr", {},
      el("td", {}, lineLabel(line), el("span", { class: "line-detail" }, `${count.format(line.quantity)} × ${unit}`)),
      el("td", { class: "amount" }, amount));
  }));
  const totals = [];
  if (quote.mode === "rent") {
    if (Number(quote.once_net)) totals.push([t("One-off, net"), money(quote.once_net)]);
    totals.push([t("Each month, net"), monthly(money(quote.monthly_net || 0))]);
    totals.push([t("Net over {months} months", { months: quote.months }), money(quote.net)]);
  } else {
    totals.push([t("Net"), money(quote.net)]);
  }
  totals.push([t("VAT {percent} %", { percent: quote.vat_percent }), money(quote.vat)]);
  totalsBody.replaceChildren(...totals.map(([label, amount]) =>
    el("tr", {}, el("th", { scope: "row" }, label), el("td", { class: "amount" }, amount))));
  totalLabel.textContent = quote.mode === "rent"
    ? t("Total over {months} months, with VAT", { months: quote.months })
    : t("Total, with VAT");
  total.dataset.amount = quote.total;
  total.dataset.currency = quote.currency;
  total.textContent = money(quote.total);
  barLabel.textContent = totalLabel.textContent;
  barTotal.textContent = total.textContent;
  if (quote.monthly != null) {
    const each = money(quote.monthly);
    after.textContent = quote.mode === "rent"
      ? t("Each month, with VAT: {amount}", { amount: each })
      : t("Plus each month, with VAT, for the monthly services: {amount}", { amount: each });
    after.hidden = false;
  } else {
    after.hidden = true;
    after.textContent = "";
  }
  quoteError.textContent = "";
}

/** Option prices as hints, for the mode chosen (an extra camera is rented monthly). */
function optionHints(mode) {
  for (const hint of form.querySelectorAll(".option-price")) {
    const option = data.options[hint.dataset.option];
    if (!option) continue;
    const price = option[mode === "rent" ? "rent" : "buy"];
    const parts = [];
    if (Number(price.once)) parts.push(t("{price} once per device", { price: money(price.once) }));
    if (Number(price.monthly)) parts.push(t("{price} a month per device", { price: money(price.monthly) }));
    hint.textContent = parts.join(", ") || t("included");
  }
}

/** "12, 24 or 36" in the page's language. */
function either(choices) {
  if (choices.length < 2) return choices.join("");
  return t("{some} or {last}", { some: choices.slice(0, -1).join(", "), last: choices[choices.length - 1] });
}

/** The page's words for a refusal of the quote, by the field the server named. */
function quoteMessage(field, problem) {
  if (field === "devices") return t("Enter a whole number of devices from 1 to 10,000.");
  if (field === "months") return t("To rent, enter a lease of {lengths} months.", { lengths: either(data.leaseMonths) });
  if (field === "options") return problem.unknown ? t("Choose options from the list only.") : t("Choose at most one SD card size.");
  if (field === "mode") return t("Choose Buy or Rent.");
  return problem.detail || t("Something went wrong; try again.");
}

function fieldOf(problem) {
  if (problem.field) return String(problem.field);
  const location = problem.errors && problem.errors[0] && problem.errors[0].location;
  return location && location.length ? String(location[location.length - 1]) : "";
}

function showRefusal(failure) {
  clearErrors(form);
  total.dataset.amount = "";
  total.textContent = "–";
  barTotal.textContent = "–";
  after.hidden = true;
  if (!(failure instanceof ApiError) || failure.status !== 422) {
    quoteError.textContent = t("The price could not be worked out; check your connection and try again.");
    return;
  }
  const field = fieldOf(failure.problem);
  const target = document.getElementById(field);
  if (target) markField(target, quoteMessage(field, failure.problem));
  quoteError.textContent = target ? t("Correct the marked field to see a price.") : quoteMessage(field, failure.problem);
}

/** Keep the save form's copy of the quote in step with the price shown. */
function syncSaveForm(body) {
  for (const hidden of saveForm.querySelectorAll("input[data-quote]")) hidden.remove();
  const copy = [["mode", body.mode], ["devices", body.devices], ["months", body.months || document.getElementById("months").value],
    ...body.options.map((option) => ["options", option])];
  saveForm.prepend(...copy.map(([name, value]) => el("input", { type: "hidden", name, value, "data-quote": true })));
}

let asked = 0;
let pending = null;
let timer = 0;

async function update() {
  clearTimeout(timer);
  const body = request();
  const mine = ++asked;
  if (pending) pending.abort();
  pending = new AbortController();
  result.setAttribute("aria-busy", "true");
  try {
    const quote = await api("quotes", { method: "POST", body, signal: pending.signal });
    if (mine !== asked) return;
    clearErrors(form);
    render(quote);
    syncSaveForm(body);
    history.replaceState(null, "", `${location.pathname}?${query(body)}`);
  } catch (failure) {
    if (mine !== asked || (failure && failure.name === "AbortError")) return;
    showRefusal(failure);
  } finally {
    if (mine === asked) result.removeAttribute("aria-busy");
  }
}

function soon() {
  clearTimeout(timer);
  timer = setTimeout(update, 300);
}

form.addEventListener("input", soon);
form.addEventListener("change", (change) => {
  if (change.target.name === "mode") optionHints(change.target.value);
  soon();
});
form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  update();
});

handleSubmit(saveForm, async (fields) => {
  saved.hidden = true;
  const body = {
    name: fields.get("name") || "",
    email: fields.get("email") || "",
    company: fields.get("company") || "",
    phone: fields.get("phone") || "",
    message: fields.get("message") || "",
    consent: fields.get("consent") === "yes",
    marketing: fields.get("marketing") === "yes",
    language: lang === "de" ? "de" : "en",
    quote: request(),
  };
  const answer = await api("leads", { method: "POST", body, reauth: false });
  for (const name of ["name", "email", "company", "phone", "message"]) saveForm.elements.namedItem(name).value = "";
  for (const box of saveForm.querySelectorAll("input[type=checkbox]")) box.checked = false;
  saved.textContent = t("Thank you. We have mailed the quote to {email} and will get in touch about it. Reference: {reference}.",
    { email: answer.mailed_to, reference: answer.reference });
  saved.hidden = false;
  saved.focus();
}, {
  messages: {
    consent: () => t("Tick the box so that we may keep your details and contact you."),
    phone: () => t("Enter a phone number with digits, spaces and + ( ) - / only."),
    company: () => t("Use at most {count} characters.", { count: 200 }),
    message: () => t("Use at most {count} characters.", { count: 2000 }),
    marketing: () => t("Product news can be chosen only when signed in."),
    devices: () => t("Correct the marked field to see a price."),
    months: () => t("Correct the marked field to see a price."),
    options: () => t("Correct the marked field to see a price."),
    mode: () => t("Correct the marked field to see a price."),
  },
});
