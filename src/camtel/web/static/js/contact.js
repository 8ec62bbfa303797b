// The contact form: to sales or to the data-protection officer, through POST /api/v1/contact.
// Refusals are shown at their field (an address missing, a message too long) or, for the
// rate limit, in words above the button.
import { api, config, lang, t } from "./core.js";
import { handleSubmit } from "./forms.js";

const form = document.getElementById("contact-form");
const done = document.getElementById("contact-done");
const message = document.getElementById("message");
const count = document.getElementById("message-count");
const max = config.data.maxMessage || 10000;
const number = new Intl.NumberFormat(lang);

function showCount() {
  const length = message.value.length;
  count.textContent = t("{count} of {max} used.", { count: number.format(length), max: number.format(max) });
  count.classList.toggle("over", length > max);
}
message.addEventListener("input", showCount);
showCount();

handleSubmit(
  form,
  async (data) => {
    const topic = data.get("topic") === "privacy" ? "privacy" : "sales";
    const body = {
      topic,
      email: String(data.get("email") || ""),
      subject: String(data.get("subject") || ""),
      message: String(data.get("message") || ""),
    };
    if (data.get("name")) body.name = String(data.get("name"));
    const answer = await api("contact", { method: "POST", body, reauth: false });
    document.getElementById("contact-reference").textContent = answer.reference;
    const to = document.getElementById("contact-done-to");
    to.textContent = to.dataset[topic];
    form.hidden = true;
    done.hidden = false;
    done.focus();
  },
  {
    messages: {
      email: () => t("Enter the email address we should answer to."),
      subject: (failure) => (
        String(failure.problem.detail || "").includes("at least")
          ? t("Enter a subject.")
          : t("The subject is too long; shorten it.")
      ),
      message: (failure) => (
        String(failure.problem.detail || "").includes("at least")
          ? t("Enter your message.")
          : t("Your message is longer than {max} characters; shorten it or send it in two parts.", { max: number.format(max) })
      ),
      topic: () => t("Choose what your message is about."),
      // A 429 concerns no field: say plainly what happened and what to do.
      rate: () => t("You have sent several messages in a short time. Wait a few minutes, then send yours again; nothing you typed is lost."),
    },
    byStatus: { 429: "rate" },
  },
);
