"""How an account's age is known (P20): from a birth date, from the person confirming they are
18 or older, or not at all (an API registration may leave it out; the privacy centre asks)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from camtel.errors import Invalid

ADULT_AGE = 18
EARLIEST_BIRTH = date(1900, 1, 1)


class AgeBasis(StrEnum):
    """What an account's age rests on (`users.age_basis`)."""

    BIRTH_DATE = "birth_date"
    CONFIRMED_ADULT = "confirmed_adult"
    #: Nothing stated: treated as an adult's account (the API contract registers with email,
    #: phone and password alone), and asked for in the privacy centre.
    UNSTATED = "unstated"


def age_on(born: date, today: date) -> int:
    """Whole years between a birth date and a day."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def stated_basis(
    *, date_of_birth: date | None, adult: bool | None, today: date, required: bool = False
) -> AgeBasis:
    """What a person's statement about their age establishes. Pure.

    A birth date is the stronger statement: given with `adult` true it must be 18 years or
    more ago. `adult` false says the person does not confirm being an adult, so a birth date
    is needed (the registration form always sends it, so its post without either is refused);
    `required` asks for a statement the same way. Raises Invalid naming the field at fault.
    """
    if date_of_birth is not None:
        if not EARLIEST_BIRTH <= date_of_birth <= today:
            raise Invalid("date_of_birth is not a plausible birth date", field="date_of_birth")
        if adult and age_on(date_of_birth, today) < ADULT_AGE:
            raise Invalid(
                "adult is true but date_of_birth is less than 18 years ago: correct one of them",
                field="adult",
                code="age_contradiction",
            )
        return AgeBasis.BIRTH_DATE
    if adult:
        return AgeBasis.CONFIRMED_ADULT
    if required or adult is not None:
        raise Invalid(
            "state your age: a date_of_birth, or adult: true to confirm you are 18 or older",
            field="date_of_birth",
            code="age_required",
        )
    return AgeBasis.UNSTATED
