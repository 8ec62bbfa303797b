// The guardian invitation's page: the signed-in adult confirms they are the young person's
// guardian (POST /api/v1/guardians/confirm with the mailed token).
import { api, config, t } from "./core.js";
import { generalMessage } from "./forms.js";

const token = (config.data || {}).token;
const button = document.getElementById("guardian-confirm");
const error = document.getElementById("guardian-error");
const adult = document.getElementById("guardian-adult"); // only when the account's age is unstated

function explain(failure) {
  if (failure.status === 422 && failure.problem.code === "age_required") {
    return t("Only an adult can be a guardian: confirm that you are 18 or older.");
  }
  if (failure.status === 403) {
    return String(failure.problem.detail || "").includes("adult")
      ? t("Only an adult can be a guardian.")
      : t("This invitation was sent to another email address. Sign in with that address, or create an account with it.");
  }
  if (failure.status === 409) return t("This young person already has a guardian.");
  if (failure.status === 422) return t("This invitation is invalid, was already used or has expired. Ask for a new one.");
  return generalMessage(failure);
}

if (button && token) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.textContent = "";
    try {
      const body = adult ? { token, adult: adult.checked } : { token };
      await api("guardians/confirm", { method: "POST", body });
      const wards = await api("guardians/wards");
      const names = wards.map((w) => w.display_name).filter(Boolean);
      document.getElementById("guardian-ask").hidden = true;
      const done = document.getElementById("guardian-done");
      document.getElementById("guardian-done-text").textContent = names.length
        ? t("You are now the guardian of {names}.", { names: names.join(", ") })
        : t("You are now their guardian.");
      done.hidden = false;
      done.focus();
    } catch (failure) {
      button.disabled = false;
      error.textContent = explain(failure);
    }
  });
}
