"""The contact form to the data-protection officer (P22): stored with its own retention and
forwarded to the DPO's address through the outbox."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.contact import ContactError, normalise_email
from camtel.accounts.service import find_by_email
from camtel.errors import Invalid
from camtel.notify.email import Mailer
from camtel.privacy.models import ContactMessage

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365
MAX_MESSAGE = 10_000


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
) -> ContactMessage:
    """Keep the message and mail it to the DPO (kept for operators when no DPO is set)."""
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
    row = ContactMessage(
        user_id=user_id,
        name=name,
        email=address,
        subject=subject,
        message=message,
        forwarded=bool(dpo_email),
        created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    db.add(row)
    await db.flush()
    if dpo_email:
        mailer.queue(
            db,
            to=dpo_email,
            user_id=user_id,
            subject=f"[camtel privacy contact] {subject}"[:200],
            body=(
                f"Reference: {row.id}\nFrom: {name or '(no name)'} <{address}>\n"
                f"Account: {'yes' if user_id else 'no'}\nReceived: {now.isoformat()}\n\n"
                f"{message}\n\n-- Answer within one month (GDPR Art. 12(3)).\n"
            ),
        )
    else:
        log.warning("no DPO address configured; contact message kept for operators")
    log.info("contact message received", extra={"message": str(row.id)})
    return row


async def purge_expired(db: AsyncSession, *, now: datetime) -> int:
    """Delete messages past their retention (the retention sweeper may call this)."""
    result = await db.execute(delete(ContactMessage).where(ContactMessage.expires_at <= now))
    return result.rowcount or 0
