"""The contact form (P22, P23): a message to the data-protection officer or to sales, stored
with its own retention and forwarded to the right address through the outbox.

The topic has no column of its own: a sales enquiry's stored subject starts with `[sales] `
(`topic_of` reads it back); a privacy message's subject is kept exactly as written.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.contact import ContactError, normalise_email
from camtel.accounts.service import find_by_email
from camtel.errors import Invalid
from camtel.mail.outbox import Mailer
from camtel.privacy.models import ContactMessage

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365
MAX_MESSAGE = 10_000
MAX_SUBJECT = 200


class Topic(StrEnum):
    """Who a message is for."""

    PRIVACY = "privacy"  # the data-protection officer
    SALES = "sales"  # prices, demos, buying or renting


_PREFIX = {Topic.SALES: "[sales] "}
_CLOSING = {
    Topic.PRIVACY: "-- Answer within one month (GDPR Art. 12(3)).\n",
    Topic.SALES: "-- A sales enquiry from the contact form.\n",
}


def stored_subject(topic: Topic, subject: str) -> str:
    """The subject as stored: a sales enquiry's carries its topic in front. Pure."""
    return _PREFIX.get(Topic(topic), "") + subject


def topic_of(stored: str) -> Topic:
    """The topic of a stored message, from its subject (privacy unless marked). Pure."""
    for topic, prefix in _PREFIX.items():
        if stored.startswith(prefix):
            return topic
    return Topic.PRIVACY


def recipient(topic: Topic, *, dpo_email: str, sales_email: str) -> str:
    """Where a message of this topic is mailed ("" keeps it for operators only). Pure."""
    return sales_email if Topic(topic) is Topic.SALES else dpo_email


async def submit(
    db: AsyncSession,
    mailer: Mailer,
    *,
    name: str,
    email: str,
    subject: str,
    message: str,
    user_id: uuid.UUID | None,
    dpo_email: str,
    now: datetime,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    topic: Topic = Topic.PRIVACY,
    sales_email: str = "",
) -> ContactMessage:
    """Keep the message and mail it to the DPO, or for a sales enquiry to sales (kept for
    operators when no address is set)."""
    topic = Topic(topic)
    stored = stored_subject(topic, subject)
    if len(stored) > MAX_SUBJECT:
        longest = MAX_SUBJECT - len(stored) + len(subject)
        raise Invalid(f"subject is longer than {longest} characters", field="subject")
    try:
        address = normalise_email(email)
    except ContactError as exc:
        raise Invalid(str(exc), field="email") from None
    if len(message) > MAX_MESSAGE:
        raise Invalid(f"message is longer than {MAX_MESSAGE} characters", field="message")
    if user_id is None:
        # Linked to the account with this address, so the person's erasure and export see it.
        account = await find_by_email(db, email=address)
        user_id = account.id if account else None
    to = recipient(topic, dpo_email=dpo_email, sales_email=sales_email)
    row = ContactMessage(
        user_id=user_id,
        name=name,
        email=address,
        subject=stored,
        message=message,
        forwarded=bool(to),
        created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    db.add(row)
    await db.flush()
    if to:
        mailer.queue(
            db,
            to=to,
            user_id=user_id,
            subject=f"[camtel {topic} contact] {subject}"[:200],
            body=(
                f"Reference: {row.id}\nFrom: {name or '(no name)'} <{address}>\n"
                f"Account: {'yes' if user_id else 'no'}\nReceived: {now.isoformat()}\n\n"
                f"{message}\n\n{_CLOSING[topic]}"
            ),
        )
    else:
        log.warning(
            "no address configured for this topic; contact message kept for operators",
            extra={"topic": str(topic)},
        )
    log.info("contact message received", extra={"message": str(row.id), "topic": str(topic)})
    return row


async def purge_expired(db: AsyncSession, *, now: datetime) -> int:
    """Delete messages past their retention (the retention sweeper may call this)."""
    result = await db.execute(delete(ContactMessage).where(ContactMessage.expires_at <= now))
    return cast(CursorResult[Any], result).rowcount or 0
