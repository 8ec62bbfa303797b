// Forms: the API's refusals shown next to the field they concern, in the page's language.
import { ApiError, t } from "./core.js";

/** The field a problem names: `field`, or the last part of a schema error's location. */
export function problemField(problem) {
  if (problem && problem.field) return String(problem.field);
  const location = problem && problem.errors && problem.errors[0] && problem.errors[0].location;
  return location && location.length > 1 ? String(location[location.length - 1]) : "";
}

/** A refusal in words a person understands; the API's own detail when none fits. */
export function explain(field, failure) {
  const problem = failure.problem || {};
  const detail = String(problem.detail || "");
  if (field === "password" || field === "new_password") {
    const least = detail.match(/at least (\d+)/);
    if (least) return t("Use at least {count} characters.", { count: least[1] });
    const most = detail.match(/at most (\d+)/);
    if (most) return t("Use at most {count} characters.", { count: most[1] });
    if (detail.includes("common")) return t("This is one of the most common passwords; choose another.");
    if (detail.includes("too close")) return t("This password is too close to your email address or the service name.");
    if (detail.includes("repeats") || detail.includes("sequence")) return t("This password is too simple; choose another.");
  }
  if (field === "phone") return t("Enter the number in international form, like +49 151 12345678.");
  if (field === "email") return t("Enter a valid email address.");
  if (field === "date_of_birth") return t("Enter a real date of birth.");
  if (field === "code") return t("That code is not right; try the current one.");
  if (field === "token") return t("This link is invalid, used or expired. Ask for a new one.");
  if (field === "name" || field === "display_name") {
    return detail.includes("at least") ? t("Enter a name.") : t("Use at most {count} characters.", { count: 120 });
  }
  return detail || t("Something went wrong; try again.");
}

/** What to say about a failure that concerns no one field. */
export function generalMessage(failure) {
  if (!(failure instanceof ApiError)) return t("camtel could not be reached; check your connection and try again.");
  if (failure.status === 429) return t("Too many attempts; wait a few minutes and try again.");
  if (failure.status === 403) return t("Your role does not allow this. Ask an owner of the organisation.");
  if (failure.status >= 500) return t("Something went wrong; try again.");
  return failure.problem.detail || t("Something went wrong; try again.");
}

function describedBy(input) {
  return (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
}

/** Take away the errors shown on a form's fields and in its general error line. */
export function clearErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) {
    const input = document.getElementById(note.dataset.for);
    if (input) {
      input.removeAttribute("aria-invalid");
      const rest = describedBy(input).filter((id) => id !== note.id);
      if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
      else input.removeAttribute("aria-describedby");
    }
    note.remove();
  }
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
}

/** Show `message` under `input`: aria-invalid, and described by the message. */
export function markField(input, message) {
  const note = document.createElement("p");
  note.className = "field-error";
  note.id = `${input.id}-error`;
  note.dataset.for = input.id;
  note.textContent = message;
  (input.closest(".field") || input.parentElement).append(note);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [...describedBy(input), note.id].join(" "));
}

/** The field a failure concerns: the one the API names (409, 422), or the one `byStatus`
 * gives for its status (a 401 from a route that checks a typed password names none). */
function failedField(failure, byStatus) {
  if (!(failure instanceof ApiError)) return "";
  if (byStatus[failure.status]) return byStatus[failure.status];
  return [409, 422].includes(failure.status) ? problemField(failure.problem) : "";
}

/**
 * Show an API failure on a form: next to the input it names (by `name`), else in the form's
 * `.form-error` line. `messages[field]` may give a page's own wording: (failure) => text;
 * `byStatus` maps a status to the field it concerns. Returns the field, or "".
 */
export function showFailure(form, failure, { messages = {}, byStatus = {} } = {}) {
  clearErrors(form);
  const field = failedField(failure, byStatus);
  const input = field && form.elements.namedItem(field);
  const own = field && messages[field] ? messages[field](failure) : "";
  if (input instanceof HTMLElement && input.type !== "hidden") {
    markField(input, own || explain(field, failure));
    input.focus();
    return field;
  }
  const general = form.querySelector(".form-error");
  const message = own || (field ? explain(field, failure) : generalMessage(failure));
  if (general) general.textContent = message;
  return field;
}

/** Run `action` with the form's submit button disabled, failures shown on the form
 * (`options` as for showFailure). */
export function handleSubmit(form, action, options = {}) {
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    clearErrors(form);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await action(new FormData(form));
    } catch (failure) {
      showFailure(form, failure, options);
    } finally {
      if (button) button.disabled = false;
    }
  });
}
