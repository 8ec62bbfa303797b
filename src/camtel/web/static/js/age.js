// The age statement (P20) of the registration form and of the privacy centre: a birth date or
// "I am 18 or older", one of which the server asks for; its refusals in the person's words.
import { ApiError, t } from "./core.js";

/** `{date_of_birth?, adult}` from a form with those two fields; `adult` is always sent, so
 * that the server refuses a post stating neither, as the page does (`adult: false`). */
export function ageStatement(data) {
  const stated = { adult: data.get("adult") === "yes" };
  if (data.get("date_of_birth")) stated.date_of_birth = data.get("date_of_birth");
  return stated;
}

/** Throws the server's own refusal when neither is given, before anything is sent. */
export function requireAge(stated) {
  if (!stated.date_of_birth && !stated.adult) {
    throw new ApiError(422, { field: "date_of_birth", code: "age_required" });
  }
}

/** Messages for `handleSubmit`, by the field a refusal names. */
export const ageMessages = {
  date_of_birth: (failure) => {
    const code = failure.problem.code;
    if (code === "age_required") return t("Enter your date of birth, or confirm that you are 18 or older.");
    if (code === "age_stated") return t("Your age is already stated.");
    return t("Enter a real date of birth.");
  },
  adult: () => t("Your date of birth is less than 18 years ago: correct it, or untick “I am 18 or older”."),
};
