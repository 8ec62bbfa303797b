"""Changing one's email address: a link to the new address confirms it; the old one is told."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts import passwords
from camtel.accounts.contact import ContactError, normalise_email
from camtel.accounts.models import AuthSession, EmailToken, User
from camtel.accounts.tokens import new_token, token_hash
from camtel.errors import Conflict, Invalid, NotFound, Unauthorized
from camtel.mail.outbox import Mailer

log = logging.getLogger(__name__)

PURPOSE = "change"
#: The page the mailed link opens (it confirms and says so); API clients confirm the token at
#: /api/v1/auth/email-change/confirm.
CONFIRM_PATH = "/email-change"


def new_address(current: str, requested: str) -> str:
    """The normalised address to change to, or Invalid when unusable or the current one."""
    try:
        address = normalise_email(requested)
    except ContactError as exc:
        raise Invalid(str(exc), field="new_email") from None
    if address == current:
        raise Invalid("this is already your email address", field="new_email")
    return address


async def request_change(
    db: AsyncSession,
    mailer: Mailer,
    *,
    user: User,
    new_email: str,
    password: str,
    base_url: str,
    ttl: timedelta,
    now: datetime,
) -> None:
    """Mail a confirmation link to the new address and a notice to the old one.

    An address another account uses gets no mail, as registration mails nothing to an
    address already in use; the caller sees the same answer and the same notice either way.
    """
    if not passwords.verify_password(user.password_hash, password):
        raise Unauthorized("the password is wrong")
    address = new_address(user.email, new_email)
    await _void_links(db, user_id=user.id, purposes=(PURPOSE,), now=now)  # the newest wins
    mailer.queue(
        db,
        to=user.email,
        user_id=user.id,
        subject="A change of your camtel email address was requested",
        body=(
            "Someone signed in to your camtel account asked to change its email address.\n\n"
            "Nothing changes until the link mailed to the new address is opened. If it was "
            "not you, change your password now and sign out everywhere.\n"
        ),
    )
    if await db.scalar(select(User.id).where(User.email == address)) is not None:
        return
    token = new_token()
    db.add(
        EmailToken(
            user_id=user.id,
            purpose=PURPOSE,
            token_hash=token_hash(token),
            new_email=address,
            expires_at=now + ttl,
            created_at=now,
        )
    )
    mailer.queue(
        db,
        to=address,
        # The person's export shows this mail without its link (privacy.export), so the link
        # reaches only the new mailbox; linked to the person, erasure takes it too.
        user_id=user.id,
        subject="Confirm your new camtel email address",
        body=(
            "Someone signed in to a camtel account asked to use this address for it.\n\n"
            f"Open this link to confirm:\n\n{base_url}{CONFIRM_PATH}?token={token}\n\n"
            f"The link works once and expires in {int(ttl.total_seconds() // 3600)} hours. "
            "If you did not ask for this, ignore this mail.\n"
        ),
    )
    await db.flush()


async def confirm_change(
    db: AsyncSession,
    mailer: Mailer,
    *,
    token: str,
    now: datetime,
    keep_session: uuid.UUID | None = None,
) -> User:
    """Switch the account to the address a change link confirms; other sessions end."""
    row = await db.scalar(
        select(EmailToken).where(
            EmailToken.token_hash == token_hash(token), EmailToken.purpose == PURPOSE
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now or not row.new_email:
        raise Invalid("this link is invalid, used or expired", field="token")
    user = await db.get(User, row.user_id)
    if user is None:
        raise NotFound("account not found")
    taken = await db.scalar(select(User.id).where(User.email == row.new_email, User.id != user.id))
    if taken is not None:
        raise Conflict("another account uses this address now", field="token")
    old = user.email
    user.email = row.new_email
    # Opening the link proved the new mailbox: the current address is verified as of now.
    user.email_verified_at = now
    try:
        await db.flush()
    except IntegrityError:
        # Another account took the address between the check above and this write.
        raise Conflict("another account uses this address now", field="token") from None
    # Links mailed to the old address (reset, verify) must not outlive the change.
    await _void_links(db, user_id=user.id, purposes=(PURPOSE, "reset", "verify"), now=now)
    ending = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_session is not None:
        ending = ending.where(AuthSession.id != keep_session)
    await db.execute(ending)
    mailer.queue(
        db,
        to=old,
        user_id=user.id,
        subject="Your camtel email address was changed",
        body=(
            "The email address of your camtel account was changed; this address no longer "
            "signs in to it, and every other session was signed out.\n\n"
            "If it was not you, contact the operator of this camtel server at once.\n"
        ),
    )
    log.info("email address changed", extra={"link": str(row.id)})
    return user


async def _void_links(
    db: AsyncSession, *, user_id: uuid.UUID, purposes: tuple[str, ...], now: datetime
) -> None:
    await db.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose.in_(purposes),
            EmailToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
