// Password reset: ask for the mailed link, then choose the new password with it.
import { api, t } from "./core.js";
import { handleSubmit } from "./forms.js";

const done = document.getElementById("reset-done");

function finish(form) {
  form.hidden = true;
  done.hidden = false;
  done.focus();
}

const request = document.getElementById("reset-request-form");
if (request) {
  handleSubmit(request, async (data) => {
    // The same answer whether or not the address has an account.
    await api("auth/password-reset", { method: "POST", body: { email: data.get("email") } });
    finish(request);
  });
}

const confirm = document.getElementById("new-password-form");
if (confirm) {
  handleSubmit(confirm, async (data) => {
    await api("auth/password-reset/confirm", {
      method: "POST",
      body: { token: data.get("token"), password: data.get("password") },
    });
    finish(confirm);
  }, {
    messages: {
      token: () => {
        document.getElementById("reset-again").hidden = false;
        return t("This link is invalid, used or expired. Ask for a new one.");
      },
    },
  });
}
