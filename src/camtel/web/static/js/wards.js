// The guardian's page: for each young person, allow or refuse collecting their location,
// video and problem reports, and have their data deleted.
import { api, el, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";

const KINDS = {
  location: () => t("Location"),
  video: () => t("Video"),
  diagnostics: () => t("Problem reports"),
};

const list = document.getElementById("ward-list");
const status = document.getElementById("wards-status");
const dialog = document.getElementById("erase-dialog");
let erasing = null;

const nameOf = (ward) => ward.display_name || t("Your ward");

function decisionText(decision, allowed) {
  if (decision === "given" && allowed) return t("Allowed");
  if (decision === "refused") return t("Refused");
  if (decision === "withdrawn") return t("Withdrawn");
  return t("Not decided: not collected");
}

function decide(ward, kind, outcome) {
  return async (click) => {
    const button = click.currentTarget;
    button.disabled = true;
    try {
      await api(`guardians/wards/${ward.id}/collection/${kind}`, { method: "POST", body: { outcome } });
      toast(outcome === "given"
        ? t("Allowed: {kind} of {name}.", { kind: KINDS[kind](), name: nameOf(ward) })
        : t("Refused: {kind} of {name}.", { kind: KINDS[kind](), name: nameOf(ward) }));
      await load(`${ward.id}:${kind}:${outcome}`);
    } catch (failure) {
      button.disabled = false;
      status.textContent = generalMessage(failure);
    }
  };
}

function wardItem(ward) {
  const name = nameOf(ward);
  const rows = Object.keys(KINDS).map((kind) => {
    const decision = (ward.decisions || {})[kind] || "not_asked";
    const allowed = ward.collection_allowed[kind];
    return el("tr", {},
      el("th", { scope: "row" }, KINDS[kind]()),
      el("td", {}, decisionText(decision, allowed)),
      el("td", { class: "decide" },
        el("button", {
          type: "button", class: "primary", disabled: decision === "given",
          dataset: { key: `${ward.id}:${kind}:given` },
          "aria-label": t("Allow collecting {kind} of {name}", { kind: KINDS[kind](), name }),
          onclick: decide(ward, kind, "given"),
        }, t("Allow")),
        el("button", {
          type: "button", disabled: decision === "refused",
          dataset: { key: `${ward.id}:${kind}:refused` },
          "aria-label": t("Refuse collecting {kind} of {name}", { kind: KINDS[kind](), name }),
          onclick: decide(ward, kind, "refused"),
        }, t("Refuse"))));
  });
  const headingId = `ward-${ward.id}`;
  return el("li", { class: "card ward", dataset: { wardId: ward.id } },
    el("h2", { id: headingId }, name),
    el("div", { class: "table-scroll", role: "region", "aria-labelledby": headingId, tabindex: "0" },
      el("table", {},
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, t("Kind")),
          el("th", { scope: "col" }, t("Your decision")),
          el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, t("Change"))))),
        el("tbody", {}, rows))),
    el("button", {
      type: "button", class: "danger",
      "aria-label": t("Delete the data of {name}", { name }),
      onclick: () => askErase(ward),
    }, t("Delete their data")));
}

async function load(focusKey) {
  try {
    const wards = await api("guardians/wards");
    list.replaceChildren(...wards.map(wardItem));
    status.textContent = wards.length ? "" : t("You are nobody's guardian at the moment.");
    if (focusKey) {
      // The button just pressed is disabled now: keep the focus in its row.
      const [id, kind] = focusKey.split(":");
      const row = list.querySelector(`[data-key^="${CSS.escape(`${id}:${kind}:`)}"]:not([disabled])`);
      if (row) row.focus();
    }
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

function askErase(ward) {
  erasing = ward;
  document.getElementById("erase-heading").textContent = t("Delete the data of {name}?", { name: nameOf(ward) });
  dialog.showModal();
}

dialog.addEventListener("close", async () => {
  const ward = erasing;
  erasing = null;
  if (!ward || dialog.returnValue !== "erase") return;
  try {
    await api(`guardians/wards/${ward.id}/erasure`, { method: "POST" });
    await load();
    toast(t("The data of {name} was deleted.", { name: nameOf(ward) }));
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
});

load();
