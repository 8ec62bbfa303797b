// The privacy centre, first half: consents with their history, who saw the person's data,
// sign-ins and device connections, and sessions. (privacy-rights.js has the rest.)
import { api, config, el, format, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";

const data = config.data || {};

/** Give each cell the name of its column, which a phone shows beside it (privacy.css stacks
 * the rows of these tables into cards on a narrow screen). */
function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => { cell.dataset.label = names[index] || ""; });
  }
}

// ---- Consents ------------------------------------------------------------------------------

/** The purposes a person decides, in their words. */
const PURPOSES = {
  analytics: {
    name: () => t("Usage statistics"),
    about: () => t("Count your page views in camtel's own statistics: no cookies, and nothing published that could point to you."),
  },
  diagnostics: {
    name: () => t("Problem reports"),
    about: () => t("Accept problem logs from your app and dash cam, so that faults can be found and fixed. Phone IDs and MAC addresses are kept only scrambled, for {days} days.", { days: data.diagnosticsDays || 14 }),
  },
  marketing_email: {
    name: () => t("Product news by email"),
    about: () => t("Now and then a mail about what is new in camtel. Each one has a link to unsubscribe with one click."),
  },
  share_location_with_organisation: {
    name: () => t("Your location, shared with your organisation"),
    about: () => t("When you drive a vehicle of an organisation with other members, they see where it is. Withdraw, and its positions are not stored while you drive it. Your own vehicles are never affected."),
    // Until the person decides, the organisation's legitimate interest applies.
    sharedUntilDecided: true,
  },
};

const OTHER_PURPOSES = {
  guardian_location: () => t("Guardian: location"),
  guardian_video: () => t("Guardian: video"),
  guardian_diagnostics: () => t("Guardian: problem reports"),
  privacy_policy: () => t("Privacy policy"),
  terms: () => t("Terms of use"),
};

function purposeName(purpose) {
  if (PURPOSES[purpose]) return PURPOSES[purpose].name();
  return OTHER_PURPOSES[purpose] ? OTHER_PURPOSES[purpose]() : purpose;
}

function outcomeText(outcome, purpose) {
  if (purpose === "privacy_policy" || purpose === "terms") {
    if (outcome === "given") return t("Accepted");
  }
  return { given: t("Given"), withdrawn: t("Withdrawn"), refused: t("Refused") }[outcome] || outcome;
}

function channelText(channel) {
  return {
    web: t("In the web app"),
    api: t("Through the API"),
    cli: t("By the server's operator"),
    guardian: t("By your guardian"),
    email: t("From a link in an email"),
  }[channel] || channel;
}

function stateText(purpose, { state, since }) {
  if (state === "not_asked") {
    return PURPOSES[purpose].sharedUntilDecided
      ? t("Not decided: shared, as your organisation's legitimate interest")
      : t("Not given");
  }
  const when = format.dateTime(since);
  if (state === "given") return t("Given since {when}", { when });
  if (state === "withdrawn") return t("Withdrawn since {when}", { when });
  return t("Refused since {when}", { when });
}

function purposeItem(purpose, current) {
  const spec = PURPOSES[purpose];
  const state = current.state;
  const allowed = state === "given" || (state === "not_asked" && spec.sharedUntilDecided);
  const action = allowed ? "withdraw" : "give";
  const button = el("button", {
    type: "button",
    class: allowed ? "" : "primary",
    "aria-label": allowed ? t("Withdraw consent: {purpose}", { purpose: spec.name() }) : t("Give consent: {purpose}", { purpose: spec.name() }),
  }, allowed ? t("Withdraw") : t("Give"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`me/consents/${purpose}/${action}`, { method: "POST" });
      toast(action === "give" ? t("Consent given: {purpose}.", { purpose: spec.name() }) : t("Consent withdrawn: {purpose}.", { purpose: spec.name() }));
      await loadConsents(purpose);
    } catch (failure) {
      button.disabled = false;
      document.getElementById("consents-status").textContent = generalMessage(failure);
    }
  });
  return el("li", { class: "purpose", dataset: { purpose, state } },
    el("div", { class: "purpose-text" },
      el("h3", {}, spec.name()),
      el("p", {}, spec.about()),
      el("p", { class: `purpose-state state-${allowed ? "on" : "off"}` },
        stateText(purpose, current))),
    el("div", { class: "purpose-action" }, button));
}

async function loadConsents(focusPurpose) {
  const status = document.getElementById("consents-status");
  try {
    const answer = await api("me/consents");
    const list = document.getElementById("purposes");
    list.replaceChildren(...Object.keys(PURPOSES).map((p) => purposeItem(p, answer.purposes[p])));
    const rows = [...answer.history].sort((a, b) => (a.time < b.time ? 1 : -1)).map((record) =>
      el("tr", {},
        el("td", {}, el("time", { datetime: record.time }, format.dateTime(record.time))),
        el("td", {}, purposeName(record.purpose)),
        el("td", {}, outcomeText(record.outcome, record.purpose)),
        el("td", {}, channelText(record.channel))));
    document.querySelector("#consent-history tbody").replaceChildren(...rows);
    labelCells(document.getElementById("consent-history"));
    document.getElementById("no-history").hidden = rows.length > 0;
    status.textContent = "";
    status.hidden = true;
    if (focusPurpose) {
      const again = list.querySelector(`[data-purpose="${CSS.escape(focusPurpose)}"] button`);
      if (again) again.focus();
    }
  } catch (failure) {
    status.hidden = false;
    status.textContent = generalMessage(failure);
  }
}

// ---- Lists that page (who saw my data, sign-ins, device connections) ------------------------

/** Load a paged list into a table: the first page now, the next ones with the "more" button. */
function pagedTable({ path, table, wrap, status, more, row, empty }) {
  let next = `/api/v1/${path}`;
  const body = document.querySelector(`#${table} tbody`);
  const moreButton = document.getElementById(more);
  const statusLine = document.getElementById(status);
  async function load() {
    moreButton.disabled = true;
    try {
      const answer = await api(next, { raw: true });
      const items = await answer.json();
      body.append(...items.map(row));
      labelCells(document.getElementById(table));
      const link = (answer.headers.get("link") || "").match(/<([^>]+)>;\s*rel="next"/);
      next = link ? new URL(link[1], location.origin).pathname + new URL(link[1], location.origin).search : null;
      moreButton.hidden = !next;
      const any = body.children.length > 0;
      document.getElementById(wrap).hidden = !any;
      statusLine.textContent = any ? "" : empty();
    } catch (failure) {
      statusLine.textContent = generalMessage(failure);
    } finally {
      moreButton.disabled = false;
    }
  }
  moreButton.addEventListener("click", load);
  return load();
}

const ACTIONS = {
  read_positions: () => t("Viewed positions"),
  export_positions: () => t("Exported positions"),
  read_events: () => t("Viewed events"),
  read_trips: () => t("Viewed trips"),
  read_stops: () => t("Viewed stops"),
  read_summary_report: () => t("Viewed a summary report"),
  list_media: () => t("Listed recordings"),
  read_media: () => t("Opened a recording"),
  read_media_content: () => t("Played or downloaded a recording"),
  read_media_thumbnail: () => t("Saw a recording's picture"),
  read_media_track: () => t("Viewed a recording's route"),
  watch_live: () => t("Watched on the live map"),
};

function roleText(role) {
  return {
    owner: t("Owner"), manager: t("Manager"), driver: t("Driver"), viewer: t("Viewer"),
  }[role] || t("Operator of this server");
}

function who(read) {
  if (!read.actor_known) return el("span", { class: "muted" }, t("A deleted account"));
  return read.actor_name || el("span", { class: "muted" }, t("Someone without a name"));
}

const when = (time) => el("td", {}, el("time", { datetime: time }, format.dateTime(time)));

const auditRow = (read) => el("tr", {},
  when(read.time),
  el("td", {}, who(read)),
  el("td", {}, roleText(read.actor_role)),
  el("td", {}, ACTIONS[read.action] ? ACTIONS[read.action]() : read.action),
  el("td", {}, read.device_name || el("span", { class: "muted" }, t("A deleted device"))));

function resultText(entry) {
  if (entry.kind === "sign_in") return t("Signed in");
  return {
    password: t("Failed: wrong password"),
    otp_required: t("Failed: the password was right, the code was missing"),
    otp_invalid: t("Failed: the password was right, the code was wrong"),
    email_unverified: t("Failed: address not confirmed yet"),
  }[entry.reason] || t("Failed");
}

const network = (same) => (same ? t("The network you use now") : t("Another network"));

const signInRow = (entry) => el("tr", { class: entry.kind === "sign_in" ? "" : "failed" },
  when(entry.time),
  el("td", {}, resultText(entry)),
  el("td", {}, entry.channel === "web" ? t("Web app") : t("API")),
  el("td", {}, entry.client || el("span", { class: "muted" }, t("Unknown"))),
  el("td", {}, network(entry.same_address_as_now)));

const connectionRow = (entry) => el("tr", {},
  when(entry.time),
  el("td", {}, entry.device_name || el("span", { class: "muted" }, t("A deleted device"))),
  el("td", {}, entry.protocol),
  el("td", {}, entry.model || el("span", { class: "muted" }, t("Nothing"))),
  el("td", {}, network(entry.same_address_as_now)));

// ---- Sessions ------------------------------------------------------------------------------

function sessionItem(session) {
  const client = session.client || t("Unknown client");
  const kind = session.kind === "web" ? t("Browser") : t("API token");
  const since = format.dateTime(session.created_at);
  const label = session.current
    ? t("Sign out this browser ({client})", { client })
    : t("Sign out {client}, signed in {since}", { client, since });
  const button = el("button", { type: "button", "aria-label": label }, t("Sign out"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`me/sessions/${session.id}`, { method: "DELETE" });
      if (session.current) {
        window.location.assign("/login");
        return;
      }
      await loadSessions();
      toast(t("Signed out: {client}.", { client }));
      document.getElementById("sessions-heading").scrollIntoView({ block: "nearest" });
    } catch (failure) {
      button.disabled = false;
      document.getElementById("sessions-error").textContent = generalMessage(failure);
    }
  });
  return el("li", { class: "session", dataset: { sessionId: session.id } },
    el("div", {},
      el("p", { class: "session-client" }, client, session.current ? el("span", { class: "tag" }, t("This browser")) : null),
      el("p", { class: "muted" },
        t("{kind} · signed in {since} · last used {last}", {
          kind, since, last: session.last_seen_at ? format.ago(session.last_seen_at) : "–",
        }))),
    button);
}

async function loadSessions() {
  const status = document.getElementById("sessions-status");
  try {
    const sessions = await api("me/sessions");
    document.getElementById("session-list").replaceChildren(...sessions.map(sessionItem));
    status.textContent = "";
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

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

// ---- Start ---------------------------------------------------------------------------------

loadConsents();
pagedTable({
  path: "me/access-audit?limit=50", table: "audit-table", wrap: "audit-wrap", status: "audit-status",
  more: "audit-more", row: auditRow, empty: () => t("Nobody else has looked at your data in the last year."),
});
pagedTable({
  path: "me/access-log?limit=25", table: "sign-ins-table", wrap: "sign-ins-wrap", status: "sign-ins-status",
  more: "sign-ins-more", row: signInRow, empty: () => t("No sign-ins in the last 30 days."),
});
pagedTable({
  path: "me/device-access-log?limit=25", table: "connections-table", wrap: "connections-wrap",
  status: "connections-status", more: "connections-more", row: connectionRow,
  empty: () => t("None of your devices connected in the last 30 days."),
});
loadSessions();
