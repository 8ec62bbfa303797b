// Admin › Policies (operators): the documents in force, and publishing a new version of the
// privacy policy or terms: upload or write Markdown, preview it as rendered by the server,
// then publish (every account is mailed through the outbox).
import { api, el, format, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";
import { confirmAction, onSubmit } from "./admin-common.js";

const kindLabel = (kind) => (kind === "terms" ? t("Terms of service") : t("Privacy policy"));

// ---- In force ------------------------------------------------------------------------------

async function loadCurrent() {
  const status = document.getElementById("current-status");
  try {
    const { documents } = await api("policies/current");
    document.getElementById("current-list").replaceChildren(...documents.map((doc) => el("li", { class: "admin-card" },
      el("h3", {}, kindLabel(doc.kind)),
      el("dl", { class: "facts" },
        el("dt", {}, t("Version")), el("dd", {}, String(doc.version)),
        el("dt", {}, t("Title")), el("dd", {}, doc.title),
        el("dt", {}, t("Published")), el("dd", {}, el("time", { datetime: doc.published_at }, format.dateTime(doc.published_at)))))));
    status.textContent = documents.length ? "" : t("Nothing has been published yet.");
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

// ---- The preview: the server's HTML, rebuilt from a fixed set of elements ------------------

const ALLOWED = new Set(["P", "H1", "H2", "H3", "H4", "H5", "H6", "UL", "OL", "LI", "STRONG", "EM",
  "CODE", "PRE", "BLOCKQUOTE", "A", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "HR", "BR", "DEL"]);

/** A copy of parsed nodes holding only allowed elements, text and safe link targets: the
 * server renders with raw HTML off already; this keeps the page safe whatever it sends. */
function rebuild(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const children = [...node.childNodes].map(rebuild).filter(Boolean);
  if (!ALLOWED.has(node.tagName)) return children.length ? el("span", {}, ...children) : null;
  let tag = node.tagName.toLowerCase();
  if (/^h[1-6]$/.test(tag)) tag = `h${Math.min(Number(tag[1]) + 2, 6)}`; // under this page's h2
  const attributes = {};
  if (tag === "a") {
    const href = node.getAttribute("href") || "";
    if (/^(https?:|mailto:|\/|#)/i.test(href)) attributes.href = href;
  }
  return el(tag, attributes, ...children);
}

const form = document.getElementById("policy-form");
const publishButton = document.getElementById("publish-button");
const preview = document.getElementById("preview");
let previewed = null; // {kind, markdown, version} of the text last previewed

function changed() {
  if (!previewed) return;
  const same = previewed.kind === form.elements.kind.value && previewed.markdown === form.elements.markdown.value;
  publishButton.disabled = !same || previewed.unchanged;
}
form.elements.kind.addEventListener("change", changed);
form.elements.markdown.addEventListener("input", changed);

form.elements.file.addEventListener("change", async () => {
  const file = form.elements.file.files[0];
  if (!file) return;
  form.elements.markdown.value = await file.text();
  changed();
});

onSubmit(form, async (values) => {
  const body = { kind: values.get("kind"), markdown: values.get("markdown") };
  const shown = await api("privacy/policies/preview", { method: "POST", body });
  const parsed = new DOMParser().parseFromString(shown.html, "text/html");
  document.getElementById("preview-body").replaceChildren(...[...parsed.body.childNodes].map(rebuild).filter(Boolean));
  document.getElementById("preview-heading").textContent = t("Preview: {document}, version {version}", { document: kindLabel(shown.kind), version: shown.version });
  document.getElementById("preview-note").textContent = shown.unchanged
    ? t("This is the text in force already; there is nothing to publish.")
    : t("Title in mails and lists: {title}", { title: shown.title });
  previewed = { ...body, version: shown.version, unchanged: shown.unchanged };
  preview.hidden = false;
  changed();
  preview.focus();
}, {
  byStatus: {},
  messages: { markdown: () => t("Write or upload the document (at most 512 KiB).") },
});

publishButton.addEventListener("click", async () => {
  if (!previewed || publishButton.disabled) return;
  const yes = await confirmAction({
    heading: t("Publish version {version} of the {document}?", { version: previewed.version, document: kindLabel(previewed.kind) }),
    text: t("Every account gets an email about it and is asked to accept it at the next sign-in. This cannot be undone."),
    confirm: t("Publish and mail everyone"),
  });
  if (!yes) return;
  publishButton.disabled = true;
  const done = document.getElementById("publish-done");
  try {
    const published = await api("privacy/policies", {
      method: "POST",
      body: { kind: previewed.kind, markdown: previewed.markdown, version: previewed.version, summary: form.elements.summary.value },
    });
    done.textContent = t("Version {version} is published. Accounts being mailed: {count}.", { version: published.version, count: published.mailed });
    toast(done.textContent);
    previewed = { ...previewed, unchanged: true };
    await loadCurrent();
  } catch (failure) {
    done.textContent = "";
    form.querySelector(".form-error").textContent = failure.status === 409
      ? t("Someone published another version meanwhile, or this text is in force already. Preview again.")
      : generalMessage(failure);
    previewed = null;
  }
});

loadCurrent();
