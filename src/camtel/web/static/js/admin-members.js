// Admin › Members: the people and their roles (owners change and remove), inviting by email,
// and the invitations not yet answered (withdraw).
import { api, el, format, t, toast } from "./core.js";
import { generalMessage } from "./forms.js";
import { confirmAction, data, onSubmit, orgPath, organization, roleLabel } from "./admin-common.js";

const isOwner = organization.role === "owner";
const list = document.getElementById("member-list");
const status = document.getElementById("members-status");
const ROLES = ["owner", "manager", "driver", "viewer"];

const nameOf = (member) => member.display_name || member.email;

function roleForm(member) {
  const id = `role-${member.user_id}`;
  const select = el("select", { id, name: "role" },
    ...ROLES.map((role) => el("option", { value: role, selected: role === member.role }, roleLabel(role))));
  const form = el("form", { class: "role-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: id }, t("Role of {name}", { name: nameOf(member) })), select),
    el("p", { class: "form-error", role: "alert" }),
    el("div", { class: "actions" },
      el("button", { type: "submit", "aria-label": t("Change the role of {name}", { name: nameOf(member) }) }, t("Change role"))));
  onSubmit(form, async (values) => {
    await api(orgPath(`/members/${member.user_id}`), { method: "PATCH", body: { role: values.get("role") } });
    // The list first, then the news: what the toast says is what the page shows.
    await loadMembers();
    toast(t("{name} is now {role}.", { name: nameOf(member), role: roleLabel(values.get("role")) }));
  }, {
    byStatus: { 422: "role" },
    messages: { role: () => t("An organisation needs at least one owner. Make someone else an owner first.") },
  });
  return form;
}

function memberCard(member) {
  const me = member.user_id === data.me;
  const card = el("li", { class: "admin-card", dataset: { userId: member.user_id } },
    el("h3", {}, nameOf(member), me ? el("span", { class: "muted" }, ` (${t("you")})`) : null),
    el("dl", { class: "facts" },
      el("dt", {}, t("Email")), el("dd", {}, member.email),
      el("dt", {}, t("Role")), el("dd", { class: "role" }, roleLabel(member.role))));
  if (isOwner) {
    card.append(roleForm(member));
    if (!me) {
      card.append(el("div", { class: "actions" },
        el("button", {
          type: "button", class: "danger", "aria-label": t("Remove {name}", { name: nameOf(member) }),
          onclick: () => remove(member),
        }, t("Remove"))));
    }
  }
  return card;
}

async function remove(member) {
  const yes = await confirmAction({
    heading: t("Remove {name}?", { name: nameOf(member) }),
    text: t("{name} leaves the organisation at once and no longer sees its devices. You can invite them again later.", { name: nameOf(member) }),
    confirm: t("Remove"),
  });
  if (!yes) return;
  try {
    await api(orgPath(`/members/${member.user_id}`), { method: "DELETE" });
    await loadMembers();
    toast(t("{name} was removed.", { name: nameOf(member) }));
  } catch (failure) {
    toast(failure.status === 422 ? t("An organisation needs at least one owner. Make someone else an owner first.") : generalMessage(failure));
  }
}

async function loadMembers() {
  try {
    const members = await api(orgPath("/members"));
    list.replaceChildren(...members.map(memberCard));
    status.textContent = "";
  } catch (failure) {
    status.textContent = generalMessage(failure);
  }
}

// ---- Invitations ---------------------------------------------------------------------------

const pendingList = document.getElementById("pending-list");
const pendingStatus = document.getElementById("pending-status");

function invitationCard(invitation) {
  return el("li", { class: "admin-card" },
    el("h3", {}, invitation.email),
    el("dl", { class: "facts" },
      el("dt", {}, t("Role")), el("dd", {}, roleLabel(invitation.role)),
      el("dt", {}, t("Sent")), el("dd", {}, el("time", { datetime: invitation.created_at }, format.dateTime(invitation.created_at))),
      el("dt", {}, t("Expires")), el("dd", {}, el("time", { datetime: invitation.expires_at }, format.dateTime(invitation.expires_at)))),
    el("div", { class: "actions" },
      el("button", {
        type: "button", "aria-label": t("Withdraw the invitation to {email}", { email: invitation.email }),
        onclick: () => withdraw(invitation),
      }, t("Withdraw"))));
}

async function withdraw(invitation) {
  try {
    await api(orgPath(`/invitations/${invitation.id}`), { method: "DELETE" });
    await loadInvitations();
    toast(t("The invitation to {email} was withdrawn.", { email: invitation.email }));
  } catch (failure) {
    toast(generalMessage(failure));
  }
}

async function loadInvitations() {
  try {
    const pending = await api(orgPath("/invitations"));
    pendingList.replaceChildren(...pending.map(invitationCard));
    pendingStatus.textContent = pending.length ? "" : t("No invitation is waiting for an answer.");
  } catch (failure) {
    pendingStatus.textContent = generalMessage(failure);
  }
}

const inviteForm = document.getElementById("invite-form");
const done = document.getElementById("invite-done");
onSubmit(inviteForm, async (values) => {
  done.textContent = "";
  const invitation = await api(orgPath("/invitations"), {
    method: "POST", body: { email: values.get("email"), role: values.get("role") },
  });
  inviteForm.elements.email.value = "";
  done.textContent = t("Invitation sent to {email}.", { email: invitation.email });
  await loadInvitations();
}, {
  messages: {
    email: (failure) => (failure.status === 409 ? t("This person is already a member.") : t("Enter a valid email address.")),
  },
});

loadMembers();
loadInvitations();
