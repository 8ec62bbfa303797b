// Accepting new policy versions after sign-in: each pending version goes to
// POST /api/v1/me/policy-acceptance, then on to where the person was going.
import { ApiError, api, config, t } from "./core.js";

const form = document.getElementById("accept-form");
const error = document.getElementById("accept-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    for (const item of config.data.pending || []) {
      await api("me/policy-acceptance", { method: "POST", body: { kind: item.kind, version: item.version } });
    }
    window.location.assign(config.data.next || "/app");
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) {
      // An even newer version was published meanwhile: show that one.
      window.location.reload();
      return;
    }
    error.textContent = t("Your acceptance could not be saved; try again.");
  } finally {
    button.disabled = false;
  }
});
