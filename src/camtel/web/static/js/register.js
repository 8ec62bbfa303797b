// Registration: the same "check your mailbox" whether or not the address had an account.
import { api } from "./core.js";
import { ageMessages, ageStatement, requireAge } from "./age.js";
import { handleSubmit } from "./forms.js";

const form = document.getElementById("register-form");
const done = document.getElementById("register-done");

handleSubmit(form, async (data) => {
  const body = { email: data.get("email"), phone: data.get("phone"), password: data.get("password") };
  if (data.get("display_name")) body.display_name = data.get("display_name");
  Object.assign(body, ageStatement(data));
  requireAge(body);
  // 202 (or 201 from an older server) names no account: what follows is the same either way.
  const answer = await api("auth/register", { method: "POST", body });
  document.getElementById("register-address").textContent = (answer && answer.email) || body.email;
  document.getElementById("register-minor").hidden = !(answer && answer.is_minor);
  form.hidden = true;
  done.hidden = false;
  done.focus();
}, { messages: ageMessages });
