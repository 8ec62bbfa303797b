// Sharing from the player: a link with an expiry and an optional view limit, blurred by
// default. Before a blurred link is made, its blurred copy is prepared (POST
// /media/{id}/redacted, in the background) and shown here, so that the person sees what the
// link will show. The recording's links are listed with their views and can be revoked; a new
// link's address is shown once, with a button that copies it.
import { api, el, format, t, toast } from "./core.js";

const POLL_MS = 2000;

const STATUS = {
  active: () => t("Active"),
  expired: () => t("Expired"),
  revoked: () => t("Revoked"),
  used_up: () => t("Used up"),
};

export function startSharing(initial, { onChange = () => {} } = {}) {
  const mediaId = initial.id;
  const base = `/api/v1/media/${mediaId}`;
  const form = document.getElementById("share-form");
  const expiry = document.getElementById("share-expiry");
  const views = document.getElementById("share-views");
  const blur = document.getElementById("share-blur");
  const preview = document.getElementById("preview");
  const previewStatus = document.getElementById("preview-status");
  const previewMake = document.getElementById("preview-make");
  const previewVideo = document.getElementById("preview-video");
  const originalNote = document.getElementById("share-original-note");
  const error = document.getElementById("share-error");
  const create = document.getElementById("share-create");
  const createHint = document.getElementById("share-create-hint");
  const result = document.getElementById("share-result");
  const url = document.getElementById("share-url");
  const rows = document.getElementById("share-rows");
  const table = document.getElementById("share-table");
  const none = document.getElementById("no-links");

  let redaction = initial.redaction;
  let polling = 0;
  const ready = initial.status === "ready";

  function paint() {
    const blurred = blur.checked;
    preview.hidden = !blurred;
    originalNote.hidden = blurred;
    previewMake.hidden = !(blurred && ready && (redaction == null || redaction === "failed"));
    previewMake.textContent = redaction === "failed" ? t("Try blurring again") : t("Prepare the blurred copy");
    if (!ready) previewStatus.textContent = t("The recording can be shared once it is analysed.");
    else if (redaction === "ready") previewStatus.textContent = t("This is what the link will show.");
    else if (redaction === "pending") previewStatus.textContent = t("Blurring faces and number plates… This may take a while for a long recording.");
    else if (redaction === "failed") previewStatus.textContent = t("The blurred copy could not be made, so a blurred link cannot be shared.");
    else previewStatus.textContent = t("Before the link is made, check the blurred copy.");
    const showVideo = blurred && redaction === "ready";
    if (showVideo && !previewVideo.getAttribute("src")) previewVideo.src = `${base}/redacted`;
    previewVideo.hidden = !showVideo;
    const allowed = ready && (!blurred || redaction === "ready");
    create.disabled = !allowed;
    createHint.textContent = allowed ? "" : ready ? t("The link can be made once the blurred copy is ready.") : "";
  }

  async function watch() {
    clearTimeout(polling);
    if (redaction !== "pending") return;
    try {
      const fresh = await api(`media/${mediaId}`);
      redaction = fresh.redaction;
      onChange(fresh);
      paint();
    } catch { /* try again below */ }
    if (redaction === "pending") polling = setTimeout(watch, POLL_MS);
  }

  previewMake.addEventListener("click", async () => {
    previewMake.disabled = true;
    error.textContent = "";
    try {
      const asked = await api(`media/${mediaId}/redacted`, { method: "POST" });
      redaction = asked.redaction;
      paint();
      watch();
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      previewMake.disabled = false;
    }
  });

  blur.addEventListener("change", paint);

  async function list() {
    let links = [];
    try {
      links = await api(`media/${mediaId}/shares`);
    } catch (failure) {
      none.textContent = t("The links could not be loaded: {error}", { error: failure.message });
      none.hidden = false;
      return;
    }
    links.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    rows.replaceChildren(...links.map(row));
    table.hidden = links.length === 0;
    none.hidden = links.length > 0;
  }

  function row(link) {
    const made = format.dateTime(link.created_at);
    const state = (STATUS[link.status] || (() => link.status))();
    const kind = link.redact ? t("blurred") : t("original");
    const seen = link.max_views ? t("{views} of {max}", { views: link.views, max: link.max_views }) : String(link.views);
    const described = `share-${link.id}`;
    const actions = el("td", {});
    if (link.status === "active") {
      const revoke = el("button", { type: "button", class: "danger", "aria-describedby": described }, t("Revoke"));
      revoke.addEventListener("click", async () => {
        revoke.disabled = true;
        try {
          await api(`shares/${link.id}`, { method: "DELETE" });
          toast(t("The link was revoked; it no longer works."));
          await list();
        } catch (failure) {
          revoke.disabled = false;
          toast(failure.message);
        }
      });
      actions.append(revoke);
    }
    return el("tr", { dataset: { shareId: link.id, status: link.status } },
      el("td", { id: described }, t("Link of {time}", { time: made }), el("br"), el("span", { class: "muted" }, kind)),
      el("td", {}, state),
      el("td", {}, seen),
      el("td", {}, format.dateTime(link.expires_at)),
      actions);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { expires_in_s: Number(expiry.value), redact: blur.checked };
    if (views.value.trim()) {
      const limit = Number(views.value);
      if (!Number.isInteger(limit) || limit < 1) {
        error.textContent = t("The view limit must be a whole number of 1 or more.");
        views.focus();
        return;
      }
      body.max_views = limit;
    }
    create.disabled = true;
    try {
      const made = await api(`media/${mediaId}/shares`, { method: "POST", body });
      url.value = made.url;
      result.hidden = false;
      url.focus();
      url.select();
      toast(t("The link was made. Copy it now: it is shown only once."));
      await list();
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      paint();
    }
  });

  document.getElementById("share-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url.value);
      toast(t("Link copied."));
    } catch {
      url.focus();
      url.select();
      toast(t("Press Ctrl+C (or ⌘C) to copy the selected link."));
    }
  });

  paint();
  watch();
  list();
}
