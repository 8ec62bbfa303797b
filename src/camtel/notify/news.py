"""Product news by email (the marketing_email purpose, P17): strict opt-in, and every mail
carries a one-click unsubscribe (RFC 8058) that records a withdrawal in the consent ledger.

Who gets news: an account whose latest marketing_email decision is `given` (no record means
no mail), with a verified address, not under 18 (minors never, whatever they chose), and no
erasure of it under way. camtel has no disabled-account state; an erased account is gone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel import keyfiles
from camtel.accounts.models import User
from camtel.accounts.service import is_minor
from camtel.errors import Invalid
from camtel.mail.outbox import Mailer
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Decision, Outcome, Purpose
from camtel.privacy.models import ConsentRecord
from camtel.privacy.rights_models import PrivacyRequest

log = logging.getLogger(__name__)

KEY_PATH = Path("keys") / "unsubscribe.key"
#: Where the one-click links point, under the server's base URL (not under /api/v1).
UNSUBSCRIBE_PATH = "/u/"
#: Purposes a mailed link may withdraw.
UNSUBSCRIBABLE = frozenset({Purpose.MARKETING_EMAIL})
MAX_BYTES = 256 * 1024
_BATCH = 500
_DOMAIN = b"camtel unsubscribe link v1\x00"


# --- the signed link -----------------------------------------------------------------------


def load_key(data_dir: Path) -> bytes:
    """The HMAC key of unsubscribe links, made on first use (random, 256 bits, mode 0600).

    A key of its own, so that rotating another key never breaks links in mail already sent.
    """
    return keyfiles.load_or_create(Path(data_dir) / KEY_PATH)


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, _DOMAIN + payload.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_token(key: bytes, user_id: uuid.UUID, purpose: Purpose) -> str:
    """A link token naming a person and a purpose, signed with the key. Pure."""
    payload = f"{user_id.hex}.{Purpose(purpose)}"
    return f"{payload}.{_mac(key, payload)}"


def read_token(key: bytes, token: str) -> tuple[uuid.UUID, Purpose] | None:
    """The person and purpose a token names, or None when it is forged or garbled. Pure."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    user_hex, purpose, mac = parts
    if not hmac.compare_digest(mac.encode(), _mac(key, f"{user_hex}.{purpose}").encode()):
        return None
    try:
        user_id, named = uuid.UUID(hex=user_hex), Purpose(purpose)
    except ValueError:
        return None
    return (user_id, named) if named in UNSUBSCRIBABLE else None


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"


async def resolve(db: AsyncSession, *, key: bytes, token: str) -> tuple[uuid.UUID, Purpose] | None:
    """The person and purpose of a link whose person still has an account, else None."""
    found = read_token(key, token)
    if found is None or await db.get(User, found[0]) is None:
        return None
    return found


async def unsubscribe(
    db: AsyncSession, *, key: bytes, token: str, now: datetime
) -> ConsentRecord | None:
    """Record the withdrawal a link asks for (once: a repeated click changes nothing).

    Returns the decision in force, or None when the link is forged or its person is gone.
    """
    found = await resolve(db, key=key, token=token)
    if found is None:
        return None
    user_id, purpose = found
    current = await consent.decision(db, user_id, purpose)
    if current is not None and current.outcome in (Outcome.WITHDRAWN, Outcome.REFUSED):
        return current
    row = await consent.record(
        db,
        user_id=user_id,
        purpose=purpose,
        outcome=Outcome.WITHDRAWN,
        channel=Channel.EMAIL,
        now=now,
    )
    log.info("news unsubscribed by link", extra={"purpose": str(purpose)})
    return row


# --- who receives news ---------------------------------------------------------------------


def may_receive(
    *, decision: Decision | None, minor: bool, verified: bool, erasure_pending: bool
) -> bool:
    """Whether product news may be mailed to an account. Pure: strict opt-in, never minors."""
    return consent.is_given(decision) and not minor and verified and not erasure_pending


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: uuid.UUID
    email: str


async def recipients(db: AsyncSession, *, today: date) -> list[Recipient]:
    """Every account product news may reach now."""
    found: list[Recipient] = []
    last: uuid.UUID | None = None
    while True:  # keyset batches over the people who ever said yes
        query = (
            select(User)
            .where(
                User.id.in_(
                    select(ConsentRecord.user_id).where(
                        ConsentRecord.purpose == Purpose.MARKETING_EMAIL,
                        ConsentRecord.outcome == Outcome.GIVEN,
                    )
                )
            )
            .order_by(User.id)
            .limit(_BATCH)
        )
        if last is not None:
            query = query.where(User.id > last)
        batch = list(await db.scalars(query))
        if not batch:
            return found
        ids = [user.id for user in batch]
        decisions = await _latest_marketing(db, ids)
        erasing = set(
            await db.scalars(
                select(PrivacyRequest.user_id).where(
                    PrivacyRequest.kind == "erasure",
                    PrivacyRequest.status != "done",
                    PrivacyRequest.user_id.in_(ids),
                )
            )
        )
        for user in batch:
            if may_receive(
                decision=decisions.get(user.id),
                minor=is_minor(user, today),
                verified=user.email_verified_at is not None,
                erasure_pending=user.id in erasing,
            ):
                found.append(Recipient(user.id, user.email))
        last = ids[-1]


async def _latest_marketing(
    db: AsyncSession, user_ids: list[uuid.UUID]
) -> Mapping[uuid.UUID, Decision]:
    rows = await db.scalars(
        select(ConsentRecord).where(
            ConsentRecord.purpose == Purpose.MARKETING_EMAIL, ConsentRecord.user_id.in_(user_ids)
        )
    )
    by_user: dict[uuid.UUID, list[ConsentRecord]] = {}
    for row in rows:
        assert row.user_id is not None  # asked for these people's records only
        by_user.setdefault(row.user_id, []).append(row)
    return {
        user_id: consent.latest(records)[Purpose.MARKETING_EMAIL]
        for user_id, records in by_user.items()
    }


# --- sending -------------------------------------------------------------------------------


def compose(text: str, url: str) -> str:
    """The mail body: the news, then why it came and the one-click way out. Pure."""
    return (
        f"{text.rstrip()}\n\n--\nYou receive camtel product news because you asked for it. "
        f"To stop, open this link (one click, no sign-in):\n{url}\n\nYou can also withdraw "
        '"marketing_email" in your privacy settings at any time.\n'
    )


async def send(
    db: AsyncSession,
    mailer: Mailer,
    *,
    subject: str,
    text: str,
    base_url: str,
    key: bytes,
    now: datetime,
) -> int:
    """Queue one news mail per account that opted in; returns how many were queued."""
    subject = subject.strip()
    if not subject or len(subject) > 200 or "\n" in subject or "\r" in subject:
        raise Invalid("the subject is one line of 1 to 200 characters", field="subject")
    if not text.strip():
        raise Invalid("the news is empty")
    if len(text.encode()) > MAX_BYTES:
        raise Invalid(f"the news is larger than {MAX_BYTES} bytes")
    queued = 0
    for person in await recipients(db, today=now.date()):
        url = unsubscribe_url(
            base_url, unsubscribe_token(key, person.user_id, Purpose.MARKETING_EMAIL)
        )
        mailer.queue(
            db,
            to=person.email,
            user_id=person.user_id,
            subject=subject,
            body=compose(text, url),
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        queued += 1
        if queued % _BATCH == 0:
            await db.flush()
    log.info("news queued", extra={"mails": queued})
    return queued


def send_file(settings: Any, path: Path, subject: str) -> dict[str, int]:
    """`camtel news send FILE.md --subject ...`: queue the news and deliver what SMTP takes."""
    from camtel.db.base import utcnow
    from camtel.db.engine import Database
    from camtel.db.migrate import upgrade

    text = Path(path).read_text(encoding="utf-8")
    upgrade(settings.sqlalchemy_url)

    async def run() -> dict[str, int]:
        database = Database(settings.sqlalchemy_url)
        mailer = Mailer(settings, database)
        try:
            async with database.session() as db:
                queued = await send(
                    db,
                    mailer,
                    subject=subject,
                    text=text,
                    base_url=settings.base_url,
                    key=load_key(settings.data_dir),
                    now=utcnow(),
                )
            delivered = 0
            while sent := await mailer.deliver_pending():  # 100 per round
                delivered += sent
            return {"queued": queued, "delivered": delivered}
        finally:
            await database.dispose()

    return asyncio.run(run())
