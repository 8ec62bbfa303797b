"""The cookie banner's choice (P11): the one strictly necessary consent cookie and the ledger
record behind it, shared by the JSON API (`PUT /api/v1/cookie-consent`) and the pages' form
that works without JavaScript (`POST /cookies`).

The banner's one optional choice is the ledger purpose `analytics` (count my visits in the
cookie-less usage statistics). A signed-in person's choice is recorded under their account;
an anonymous visitor's under a random visitor id that lives only in the consent cookie.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from camtel.privacy import consent
from camtel.privacy.consent import Channel, Outcome, Purpose

CONSENT_COOKIE = "camtel_consent"
#: Six months: the choice is asked again after that.
CONSENT_MAX_AGE = 183 * 24 * 3600


def read_consent_cookie(value: str | None) -> tuple[str | None, bool | None]:
    """(visitor id, analytics choice) from the consent cookie's "<visitor id or ->.<0|1>";
    (None, None) when it is absent or malformed. Pure."""
    visitor, _, choice = (value or "").partition(".")
    if choice not in ("0", "1") or not (visitor == "-" or consent.is_visitor_id(visitor)):
        return None, None
    return (None if visitor == "-" else visitor), choice == "1"


def cookie_value(visitor: str | None, analytics: bool) -> str:
    """What the consent cookie holds for a choice (the inverse of read_consent_cookie). Pure."""
    return f"{visitor or '-'}.{int(analytics)}"


def counts_visits(choice: bool | None, *, signed_in: bool) -> bool:
    """Whether a page may send its cookie-less page view, as far as the banner goes. Pure.

    Without a choice an anonymous visit is counted (the statistics need no consent: nothing
    identifies anyone); a "no" stops it. A signed-in person is counted only with their yes
    (the API asks their ledger; a page without one only knows the cookie).
    """
    if choice is not None:
        return choice
    return not signed_in


@dataclass(frozen=True, slots=True)
class Recorded:
    """A choice written to the ledger: the visitor id to keep in the cookie (None for an
    account's choice) and the cookie's value."""

    visitor: str | None
    analytics: bool

    @property
    def cookie(self) -> str:
        return cookie_value(self.visitor, self.analytics)


async def record_choice(
    db: AsyncSession,
    *,
    analytics: bool,
    user_id: uuid.UUID | None,
    visitor: str | None,
    channel: Channel,
    now: datetime,
) -> Recorded:
    """Append the banner's choice to the ledger: `given`, or `withdrawn` when it was given
    before, else `refused`. A signed-in person's goes under their account (the cookie's
    visitor id is then dropped); a visitor without an id gets a new random one."""
    if user_id is not None:
        visitor = None
        previous = await consent.decision(db, user_id, Purpose.ANALYTICS)
    else:
        visitor = visitor or consent.new_visitor_id()
        previous = await consent.visitor_decision(db, visitor, Purpose.ANALYTICS)
    if analytics:
        outcome = Outcome.GIVEN
    else:
        outcome = Outcome.WITHDRAWN if consent.is_given(previous) else Outcome.REFUSED
    await consent.record(
        db,
        user_id=user_id,
        visitor_id=visitor,
        purpose=Purpose.ANALYTICS,
        outcome=outcome,
        channel=channel,
        now=now,
    )
    return Recorded(visitor=visitor, analytics=analytics)
