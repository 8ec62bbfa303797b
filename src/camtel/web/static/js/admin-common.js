// What the admin pages share: the chosen organisation, role names, a confirmation dialog,
// and API refusals shown at the field they concern (also fields named differently here).
import { ApiError, config, t } from "./core.js";
import { clearErrors, explain, markField, problemField, showFailure } from "./forms.js";

export const data = config.data || {};
export const organization = data.organization || null;
export const orgPath = (rest = "") => `organizations/${organization.id}${rest}`;

export function roleLabel(role) {
  return { owner: t("Owner"), manager: t("Manager"), driver: t("Driver"), viewer: t("Viewer") }[role] || role;
}

/** Ask before doing something that cannot be taken back; resolves to true when confirmed. */
export function confirmAction({ heading, text, confirm }) {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-heading").textContent = heading;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-yes").textContent = confirm;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

/**
 * showFailure, where the API's field may be named otherwise on the form: `at[field]` is the
 * element (or the name of the form control) to mark; `messages[field]` the page's wording.
 */
export function failAt(form, failure, { at = {}, messages = {}, byStatus = {} } = {}) {
  const field = failure instanceof ApiError
    ? byStatus[failure.status] || ([409, 422].includes(failure.status) ? problemField(failure.problem) : "")
    : "";
  const target = field && at[field];
  if (!target) return showFailure(form, failure, { messages, byStatus });
  clearErrors(form);
  const element = typeof target === "string" ? form.elements.namedItem(target) : target;
  markField(element, messages[field] ? messages[field](failure) : explain(field, failure));
  element.focus();
  return field;
}

/** Run `action` on submit with the button disabled; failures shown by failAt(options). */
export function onSubmit(form, action, options = {}) {
  form.addEventListener("submit", async (submit) => {
    submit.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    clearErrors(form);
    try {
      await action(new FormData(form));
    } catch (failure) {
      failAt(form, failure, options);
    } finally {
      if (button) button.disabled = false;
    }
  });
}
