// The account page: profile, password, two-step sign-in (TOTP) and signing out everywhere.
import { api, t, toast } from "./core.js";
import { generalMessage, handleSubmit } from "./forms.js";

handleSubmit(document.getElementById("profile-form"), async (data) => {
  const saved = await api("me", {
    method: "PATCH",
    body: { display_name: data.get("display_name"), phone: data.get("phone") },
  });
  document.getElementById("phone").value = saved.phone;
  toast(t("Profile saved."));
});

const passwordForm = document.getElementById("password-form");
handleSubmit(passwordForm, async (data) => {
  await api("me/password", {
    method: "POST",
    reauth: false, // 401 here is a wrong current password, not an ended session
    body: { current_password: data.get("current_password"), new_password: data.get("new_password") },
  });
  passwordForm.reset();
  toast(t("Password changed. Your other sessions were signed out."));
}, {
  byStatus: { 401: "current_password" },
  messages: { current_password: () => t("The current password is not right.") },
});

const state = document.getElementById("totp-state");
const off = document.getElementById("totp-off");
const enrol = document.getElementById("totp-enrol");
const disableForm = document.getElementById("totp-disable-form");
const confirmForm = document.getElementById("totp-confirm-form");

function showTotp(enabled) {
  state.textContent = enabled
    ? t("On: signing in asks for a code from your authenticator app.")
    : t("Off: signing in needs only your password.");
  off.hidden = enabled;
  enrol.hidden = true;
  disableForm.hidden = !enabled;
}

const begin = document.getElementById("totp-begin");
begin.addEventListener("click", async () => {
  begin.disabled = true;
  try {
    const begun = await api("me/totp", { method: "POST" });
    // The server draws the QR code of the enrolment just begun; it is never cached.
    document.getElementById("totp-qr").src = `/app/account/totp.svg?n=${Date.now()}`;
    document.getElementById("totp-secret").textContent = begun.secret.match(/.{1,4}/g).join(" ");
    off.hidden = true;
    enrol.hidden = false;
    document.getElementById("code").focus();
  } catch (failure) {
    toast(generalMessage(failure));
  } finally {
    begin.disabled = false;
  }
});

document.getElementById("totp-cancel").addEventListener("click", () => {
  confirmForm.reset();
  showTotp(false);
  begin.focus();
});

handleSubmit(confirmForm, async (data) => {
  await api("me/totp/confirm", { method: "POST", body: { code: String(data.get("code")).replace(/\s/g, "") } });
  confirmForm.reset();
  showTotp(true);
  toast(t("Two-step sign-in is on."));
}, {
  // A code of the wrong shape is refused by the schema, which names "code" as well.
  messages: { code: () => t("That code is not right; try the current one.") },
});

handleSubmit(disableForm, async (data) => {
  await api("me/totp/disable", { method: "POST", reauth: false, body: { password: data.get("password") } });
  disableForm.reset();
  showTotp(false);
  toast(t("Two-step sign-in is off."));
}, {
  byStatus: { 401: "password" },
  messages: { password: () => t("The password is not right.") },
});

const everywhere = document.getElementById("sign-out-everywhere");
everywhere.addEventListener("click", async () => {
  everywhere.disabled = true;
  try {
    await api("auth/logout-all", { method: "POST" });
    window.location.assign("/login");
  } catch (failure) {
    everywhere.disabled = false;
    document.getElementById("sessions-error").textContent = generalMessage(failure);
  }
});
