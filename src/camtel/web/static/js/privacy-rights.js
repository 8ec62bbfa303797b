// The privacy centre, second half: a copy of one's data (an export job with its progress),
// changing the email address, a minor's guardian, and deleting the account.
import { ApiError, api, config, el, t } from "./core.js";
import { generalMessage, handleSubmit } from "./forms.js";

const data = config.data || {};

// ---- Export --------------------------------------------------------------------------------

const POLL_MS = 1500;
const startButton = document.getElementById("export-start");
const progressBox = document.getElementById("export-progress");
const bar = document.getElementById("export-bar");
const exportStatus = document.getElementById("export-status");
const ready = document.getElementById("export-ready");
const link = document.getElementById("export-link");

function showProgress(fraction) {
  progressBox.hidden = false;
  if (fraction == null) bar.removeAttribute("value"); // indeterminate until the first report
  else bar.value = Math.round(fraction * 100);
}

function showReady(state) {
  progressBox.hidden = true;
  link.href = state.url;
  ready.hidden = false;
  startButton.disabled = false;
  startButton.textContent = t("Prepare a new copy");
  exportStatus.textContent = t("Your data is ready to download.");
}

async function follow(id) {
  startButton.disabled = true;
  ready.hidden = true;
  exportStatus.textContent = t("Preparing your data…");
  for (;;) {
    let state;
    try {
      state = await api(`me/exports/${id}/status`);
    } catch (failure) {
      startButton.disabled = false;
      progressBox.hidden = true;
      exportStatus.textContent = generalMessage(failure);
      return;
    }
    if (state.status === "ready") {
      showReady(state);
      return;
    }
    if (state.status !== "processing") {
      startButton.disabled = false;
      progressBox.hidden = true;
      exportStatus.textContent = t("Preparing your data failed. Please try again.");
      return;
    }
    showProgress(state.progress);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

startButton.addEventListener("click", async () => {
  startButton.disabled = true;
  showProgress(null);
  try {
    const job = await api("me/export?async=true");
    await follow(job.id);
  } catch (failure) {
    startButton.disabled = false;
    progressBox.hidden = true;
    exportStatus.textContent = generalMessage(failure);
  }
});

/** Coming back to the page: an export still being made is followed, a finished one offered. */
async function resumeExport() {
  try {
    const centre = await api("privacy/centre");
    const latest = (centre.requests || []).find((r) => r.kind === "export");
    if (!latest) return;
    const state = await api(`me/exports/${latest.id}/status`);
    if (state.status === "processing") await follow(latest.id);
    else if (state.status === "ready") showReady(state);
  } catch (failure) {
    if (!(failure instanceof ApiError)) exportStatus.textContent = generalMessage(failure);
  }
}

// ---- Email address -------------------------------------------------------------------------

const emailForm = document.getElementById("email-form");
handleSubmit(emailForm, async (values) => {
  const address = String(values.get("new_email")).trim();
  await api("me/email", {
    method: "POST",
    reauth: false, // 401 is a wrong password here
    body: { new_email: address, password: values.get("password") },
  });
  emailForm.reset();
  document.getElementById("email-sent").textContent = t(
    "If {email} can be used, a link is on its way to it. Your address changes when you open it.", { email: address });
}, {
  byStatus: { 401: "password" },
  messages: {
    password: () => t("The password is not right."),
    new_email: (failure) => (String(failure.problem.detail || "").includes("already your")
      ? t("This is already your email address.")
      : t("Enter a valid email address.")),
  },
});

// ---- Guardian (people under 18) ------------------------------------------------------------

const KINDS = {
  location: () => t("Location"),
  video: () => t("Video"),
  diagnostics: () => t("Problem reports"),
};

async function loadGuardian() {
  const table = document.querySelector("#collection-table tbody");
  if (!table) return;
  try {
    const state = await api("me/guardian");
    table.replaceChildren(...Object.keys(KINDS).map((kind) => el("tr", {},
      el("th", { scope: "row" }, KINDS[kind]()),
      el("td", {}, state.collection_allowed[kind] ? t("Yes, your guardian allowed it") : t("No")))));
  } catch (failure) {
    document.getElementById("guardian-sent").textContent = generalMessage(failure);
  }
}

const guardianForm = document.getElementById("guardian-form");
if (guardianForm) {
  handleSubmit(guardianForm, async (values) => {
    const address = String(values.get("email")).trim();
    await api("me/guardian", { method: "POST", body: { email: address } });
    guardianForm.reset();
    document.getElementById("guardian-sent").textContent = t(
      "We sent an invitation to {email}. It works for 7 days.", { email: address });
  }, {
    messages: {
      email: (failure) => (String(failure.problem.detail || "").includes("another person")
        ? t("Your guardian is someone else: enter their address, not yours.")
        : t("Enter a valid email address.")),
    },
  });
}

// ---- Delete the account --------------------------------------------------------------------

const deleteForm = document.getElementById("delete-form");
handleSubmit(deleteForm, async (values) => {
  await api("me", { method: "DELETE", reauth: false, body: { password: values.get("password") } });
  window.location.assign("/goodbye");
}, {
  byStatus: { 401: "password" },
  messages: { password: () => t("The password is not right.") },
});

resumeExport();
if (data.minor) loadGuardian();
