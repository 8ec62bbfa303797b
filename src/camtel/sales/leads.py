"""Leads: a saved quote with the visitor's contact details and consent, mailed to them (and to
the sales team), kept 12 months, deleted at once through the link in their mail."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import User
from camtel.accounts.service import find_by_email
from camtel.errors import Invalid
from camtel.mail.outbox import Mailer
from camtel.privacy import audit, consent
from camtel.privacy.consent import Channel, Outcome, Purpose
from camtel.sales import mails
from camtel.sales.models import Lead
from camtel.sales.pricing import PriceTable, Quote, quote
from camtel.sales.schemas import LeadIn

log = logging.getLogger(__name__)

#: Twelve months: how long a lead is kept unless the person deletes it sooner.
RETENTION_DAYS = 365
#: The consent asked for on the pricing page, word for word in each language of the pages,
#: and its version. A new wording gets a new version; each lead keeps the text its person
#: agreed to, in the language they read it in.
CONSENT_VERSION = "quote-contact-1"
CONSENT_TEXTS = {
    "en": (
        "Contact me about this quote. camtel keeps my name, email address, company and phone "
        "number with the quote for 12 months to answer me, and deletes them sooner if I ask."
    ),
    "de": (
        "Kontaktieren Sie mich zu diesem Angebot. camtel speichert meinen Namen, meine "
        "E-Mail-Adresse, Firma und Telefonnummer mit dem Angebot 12 Monate lang, um mir zu "
        "antworten, und löscht sie früher, wenn ich darum bitte."
    ),
}


def token_hash(token: str) -> str:
    """What is stored of a link token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


async def owner_id(db: AsyncSession, *, email: str, caller: User | None) -> uuid.UUID | None:
    """The account these details belong to: the signed-in person when the address is theirs,
    else the account with this address, if any (so the person's export and erasure see it)."""
    if caller is not None and caller.email == email:
        return caller.id
    account = await find_by_email(db, email=email)
    return account.id if account else None


@dataclass(frozen=True, slots=True)
class Saved:
    lead: Lead
    quote: Quote
    token: str


async def save(
    db: AsyncSession,
    mailer: Mailer,
    *,
    table: PriceTable,
    details: LeadIn,
    caller: User | None,
    base_url: str,
    sales_email: str,
    now: datetime,
    retention_days: int = RETENTION_DAYS,
) -> Saved:
    """Price the quote, keep it with the contact details and consent, and queue the mails."""
    priced = quote(table, details.quote)
    if not details.consent:
        raise Invalid(
            "consent is needed: we keep your details only to contact you about this quote",
            field="consent",
        )
    if details.marketing and caller is None:
        raise Invalid("product news can be chosen only when signed in", field="marketing")
    token = secrets.token_urlsafe(32)
    user_id = await owner_id(db, email=details.email, caller=caller)
    row = Lead(
        user_id=user_id,
        name=details.name,
        email=details.email,
        company=details.company,
        phone=details.phone,
        message=details.message,
        quote=priced.as_json(),
        consent_text=CONSENT_TEXTS.get(details.language, CONSENT_TEXTS["en"]),
        consent_version=CONSENT_VERSION,
        language=details.language,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    db.add(row)
    await db.flush()
    reference = str(row.id)
    mail = mails.quote_mail(
        table,
        priced,
        name=details.name,
        reference=reference,
        forget_url=f"{base_url}/pricing/saved?token={token}",
        until=row.expires_at,
    )
    mailer.queue(
        db, to=details.email, subject=mail.subject, body=mail.text, html=mail.html, user_id=user_id
    )
    if sales_email:
        note = mails.new_lead_mail(
            priced,
            name=details.name,
            email=details.email,
            company=details.company,
            phone=details.phone,
            message=details.message,
            reference=reference,
            admin_url=f"{base_url}/app/admin/sales",
        )
        mailer.queue(db, to=sales_email, subject=note.subject, body=note.text, user_id=None)
    log.info(
        "lead saved",
        extra={"lead": reference, "mode": priced.mode, "devices": priced.devices},
    )
    return Saved(row, priced, token)


async def record_marketing(
    db: AsyncSession, *, user_id: uuid.UUID, now: datetime, channel: Channel = Channel.WEB
) -> None:
    """The signed-in person also asked for product news: a `marketing_email` consent in the
    ledger (visitors without an account are never asked)."""
    await consent.record(
        db,
        user_id=user_id,
        purpose=Purpose.MARKETING_EMAIL,
        outcome=Outcome.GIVEN,
        channel=channel,
        now=now,
    )


async def by_token(db: AsyncSession, token: str) -> Lead | None:
    """The lead a mailed link names, or None."""
    if not token or len(token) > 128:
        return None
    return await db.scalar(select(Lead).where(Lead.token_hash == token_hash(token)))


async def forget(db: AsyncSession, token: str) -> bool:
    """Delete the lead a mailed link names; False when there is none (any more)."""
    row = await by_token(db, token)
    if row is None:
        return False
    await db.delete(row)
    log.info("lead deleted by its person", extra={"lead": str(row.id)})
    return True


async def listing(db: AsyncSession, *, limit: int, after: uuid.UUID | None = None) -> list[Lead]:
    """Leads, newest first (ids are time-ordered), for the sales team."""
    query = select(Lead).order_by(Lead.id.desc()).limit(limit)
    if after is not None:
        query = query.where(Lead.id < after)
    return list(await db.scalars(query))


def audit_reads(
    db: AsyncSession, rows: list[Any], *, actor: uuid.UUID, kind: str, now: datetime
) -> None:
    """The sales team read leads or bookings: those of people with an account are their data,
    and each read is recorded for them to see (P15)."""
    for row in rows:
        audit.record(
            db,
            subject=row.user_id,
            actor=actor,
            role="operator",
            action=f"read_{kind}",
            resource=f"{kind}:{row.id}",
            now=now,
        )
