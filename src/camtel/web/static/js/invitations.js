// Accept or decline an organisation's invitation.
import { ApiError, api, t } from "./core.js";

const error = document.getElementById("invitation-error");

for (const item of document.querySelectorAll("[data-invitation-id]")) {
  const id = item.dataset.invitationId;
  const outcome = item.querySelector(".outcome");
  for (const button of item.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      error.textContent = "";
      const accept = button.dataset.action === "accept";
      try {
        await api(`me/invitations/${id}/${accept ? "accept" : "decline"}`, { method: "POST" });
        for (const other of item.querySelectorAll("button")) other.remove();
        outcome.textContent = accept ? t("You joined. Its vehicles are on your map now.") : t("Declined. The organisation is told nothing more.");
      } catch (failure) {
        error.textContent = failure instanceof ApiError && failure.status === 404
          ? t("This invitation is no longer open: it was withdrawn, answered or has expired.")
          : failure.message;
      }
    });
  }
}
