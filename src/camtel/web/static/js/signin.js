// The sign-in form: posts to the web session route, asks for a TOTP code when the account has one.
import { ApiError, api, t } from "./core.js";

const form = document.getElementById("sign-in-form");
const error = document.getElementById("sign-in-error");
const otpField = document.getElementById("otp-field");

/** Where to go after signing in: first to accept a policy version published since the person
 * last accepted one (P21), then on to `target`. */
async function acceptanceFirst(target) {
  try {
    const status = await api("me/policy-acceptance", { reauth: false });
    if (status.policy_acceptance_required) return `/app/policy-update?next=${encodeURIComponent(target)}`;
  } catch { /* the app itself asks again */ }
  return target;
}

form.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  const body = { email: data.get("email"), password: data.get("password") };
  if (!otpField.hidden && data.get("otp")) body.otp = data.get("otp");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api("auth/session", { method: "POST", body });
    const next = data.get("next");
    const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/app";
    window.location.assign(await acceptanceFirst(target));
  } catch (failure) {
    const code = failure instanceof ApiError ? failure.problem.code : "";
    if (code === "otp_required" || code === "otp_invalid") {
      otpField.hidden = false;
      document.getElementById("otp").focus();
      error.textContent = code === "otp_invalid" ? t("That code is not right; try the current one.") : t("Enter the code from your authenticator app.");
    } else if (code === "email_unverified") {
      error.textContent = t("Confirm your email address first: open the link we mailed you.");
    } else if (failure instanceof ApiError && failure.status === 429) {
      error.textContent = t("Too many attempts; wait a few minutes and try again.");
    } else {
      error.textContent = t("The email address or the password is not right.");
    }
  } finally {
    button.disabled = false;
  }
});
