// The privacy centre's age section, shown to an account whose age is unstated: stated once,
// then the page is drawn again (a minor's shows the Guardians section and what waits for it).
import { api } from "./core.js";
import { ageMessages, ageStatement, requireAge } from "./age.js";
import { handleSubmit } from "./forms.js";

const form = document.getElementById("age-form");

if (form) {
  handleSubmit(form, async (data) => {
    const body = ageStatement(data);
    requireAge(body);
    const answer = await api("me/age", { method: "POST", body });
    window.location.assign(answer.is_minor ? "/app/privacy?age=stated#guardians" : "/app/privacy?age=stated");
  }, { messages: ageMessages });
}
