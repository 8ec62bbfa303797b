"""Account operations: register, verify, sign in, reset a password, second factor."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts import passwords
from camtel.accounts.age import ADULT_AGE, AgeBasis, age_on, stated_basis
from camtel.accounts.contact import ContactError, normalise_email, normalise_phone
from camtel.accounts.models import AuthSession, EmailToken, Membership, Organization, User
from camtel.accounts.roles import Role
from camtel.accounts.tokens import close_all_sessions, token_hash
from camtel.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from camtel.mail.outbox import Mailer

SERVICE_WORDS = ("camtel",)


def is_minor(user: User, today: date) -> bool:
    """Whether the account belongs to someone under 18 (who needs a guardian)."""
    return user.date_of_birth is not None and age_on(user.date_of_birth, today) < ADULT_AGE


def state_age(user: User, *, date_of_birth: date | None, adult: bool | None, now: datetime) -> None:
    """Record the age statement of an account that has none yet (once: Conflict after)."""
    if user.age_basis != AgeBasis.UNSTATED:
        raise Conflict("your age is already stated", field="date_of_birth", code="age_stated")
    basis = stated_basis(date_of_birth=date_of_birth, adult=adult, today=now.date(), required=True)
    user.date_of_birth, user.age_basis, user.age_stated_at = date_of_birth, basis, now


def _check_password(password: str, *, email: str, min_length: int) -> None:
    local = email.split("@", 1)[0]
    problem = passwords.password_problem(
        password, min_length=min_length, context=(local, *SERVICE_WORDS)
    )
    if problem:
        raise Invalid(f"password {problem}", field="password")


def _contact(email: str, phone: str) -> tuple[str, str]:
    # Each problem names its field, so that a form can show it next to the right input.
    try:
        email = normalise_email(email)
    except ContactError as exc:
        raise Invalid(str(exc), field="email") from None
    try:
        return email, normalise_phone(phone)
    except ContactError as exc:
        raise Invalid(str(exc), field="phone") from None


async def find_by_email(db: AsyncSession, *, email: str) -> User | None:
    """The account with this email (any spelling that normalises the same), if any."""
    try:
        email = normalise_email(email)
    except ContactError:
        return None
    return await db.scalar(select(User).where(User.email == email))


async def create_account(
    db: AsyncSession,
    *,
    email: str,
    phone: str,
    password: str,
    min_length: int,
    now: datetime,
    display_name: str = "",
    date_of_birth: date | None = None,
    adult: bool | None = None,
    organization_name: str = "",
    verified: bool = False,
    admin: bool = False,
) -> User:
    """Create a person, their own organisation (as owner), checked against every rule.
    `date_of_birth` and `adult` are the age statement (`accounts.age.stated_basis`)."""
    email, phone = _contact(email, phone)
    _check_password(password, email=email, min_length=min_length)
    basis = stated_basis(date_of_birth=date_of_birth, adult=adult, today=now.date())
    if await db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", field="email")
    user = User(
        email=email,
        phone=phone,
        password_hash=passwords.hash_password(password),
        display_name=display_name.strip(),
        date_of_birth=date_of_birth,
        age_basis=basis,
        age_stated_at=None if basis == AgeBasis.UNSTATED else now,
        email_verified_at=now if verified else None,
        is_admin=admin,
        created_at=now,
        password_changed_at=now,
    )
    organization = Organization(
        name=organization_name.strip() or f"{display_name.strip() or email.split('@')[0]}'s fleet",
        created_at=now,
    )
    db.add_all([user, organization])
    await db.flush()
    db.add(
        Membership(
            user_id=user.id, organization_id=organization.id, role=Role.OWNER, created_at=now
        )
    )
    await db.flush()
    return user


async def register(
    db: AsyncSession,
    mailer: Mailer,
    *,
    email: str,
    phone: str,
    password: str,
    min_length: int,
    base_url: str,
    ttl: timedelta,
    now: datetime,
    display_name: str = "",
    date_of_birth: date | None = None,
    adult: bool | None = None,
    organization_name: str = "",
) -> str:
    """Create an account and mail its verification link; for an address that already has an
    account, mail its owner a notice instead. Returns the normalised address.

    Both ways hash the password and queue one mail, and the caller answers the same, so
    registering tells no one whether an address has an account (as sign-in and reset do).
    """
    try:
        user = await create_account(
            db,
            email=email,
            phone=phone,
            password=password,
            display_name=display_name,
            date_of_birth=date_of_birth,
            adult=adult,
            organization_name=organization_name,
            min_length=min_length,
            now=now,
        )
    except Conflict:
        # Every rule was checked before the address; the work a new account costs follows.
        passwords.hash_password(password)
        existing = await find_by_email(db, email=email)
        if existing is not None:
            _queue_registration_notice(mailer, db, user=existing, base_url=base_url)
        return normalise_email(email)
    await send_verification(db, mailer, user=user, base_url=base_url, ttl=ttl, now=now)
    return user.email


def _queue_registration_notice(
    mailer: Mailer, db: AsyncSession, *, user: User, base_url: str
) -> None:
    mailer.queue(
        db,
        to=user.email,
        user_id=user.id,
        subject="Someone tried to register with your camtel address",
        body=(
            "Someone tried to register a new camtel account with this email address, which "
            "already has one. Nothing was changed.\n\n"
            f"If it was you, sign in at {base_url}/login, or set a new password at "
            f"{base_url}/reset if you forgot it.\n\n"
            "If it was not you, you can ignore this mail.\n"
        ),
    )


async def _issue_email_token(
    db: AsyncSession, *, user: User, purpose: str, ttl: timedelta, now: datetime
) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        EmailToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            expires_at=now + ttl,
            created_at=now,
        )
    )
    await db.flush()
    return token


async def send_verification(
    db: AsyncSession, mailer: Mailer, *, user: User, base_url: str, ttl: timedelta, now: datetime
) -> None:
    """Mail a link that proves the person owns the address."""
    token = await _issue_email_token(db, user=user, purpose="verify", ttl=ttl, now=now)
    link = f"{base_url}/verify?token={token}"  # the page; the API route takes it as well
    mailer.queue(
        db,
        to=user.email,
        user_id=user.id,
        subject="Confirm your camtel email address",
        body=(
            "Welcome to camtel.\n\nOpen this link to confirm your email address:\n\n"
            f"{link}\n\nThe link works once and expires in {int(ttl.total_seconds() // 3600)} "
            "hours. If you did not register, ignore this mail.\n"
        ),
    )


async def _consume(db: AsyncSession, *, token: str, purpose: str, now: datetime) -> User:
    row = await db.scalar(
        select(EmailToken).where(
            EmailToken.token_hash == token_hash(token), EmailToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid("this link is invalid, used or expired", field="token")
    row.used_at = now
    user = await db.get(User, row.user_id)
    if user is None:
        raise NotFound("account not found")
    return user


async def verify_email(db: AsyncSession, *, token: str, now: datetime) -> User:
    """Mark the address behind a verification link as confirmed."""
    user = await _consume(db, token=token, purpose="verify", now=now)
    user.email_verified_at = user.email_verified_at or now
    return user


async def authenticate(
    db: AsyncSession, *, email: str, password: str, otp: str | None, now: datetime
) -> User:
    """The account for these credentials, or Unauthorized (same answer for any wrong part)."""
    user = await find_by_email(db, email=email)
    if user is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)  # same time either way
        raise Unauthorized("wrong email or password")
    if not passwords.verify_password(user.password_hash, password):
        raise Unauthorized("wrong email or password")
    if user.totp_enabled:
        if not otp:
            raise Unauthorized("a one-time code is required", code="otp_required")
        if not pyotp.TOTP(user.totp_secret or "").verify(otp, for_time=now, valid_window=1):
            raise Unauthorized("the one-time code is wrong", code="otp_invalid")
    if user.email_verified_at is None:
        raise Forbidden(
            "confirm your email address first (see the link we mailed)", code="email_unverified"
        )
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


async def request_password_reset(
    db: AsyncSession, mailer: Mailer, *, email: str, base_url: str, ttl: timedelta, now: datetime
) -> None:
    """Mail a reset link when the account exists; says nothing either way (no enumeration)."""
    user = await find_by_email(db, email=email)
    if user is None:
        return
    token = await _issue_email_token(db, user=user, purpose="reset", ttl=ttl, now=now)
    mailer.queue(
        db,
        to=user.email,
        user_id=user.id,
        subject="Reset your camtel password",
        body=(
            "Someone asked to reset the password of your camtel account.\n\n"
            f"Reset token: {token}\nOr open: {base_url}/reset?token={token}\n\n"
            "If it was not you, ignore this mail; your password stays as it is.\n"
        ),
    )


async def reset_password(
    db: AsyncSession, *, token: str, password: str, min_length: int, now: datetime
) -> User:
    """Set a new password from a reset link; every existing session is signed out."""
    user = await _consume(db, token=token, purpose="reset", now=now)
    _check_password(password, email=user.email, min_length=min_length)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    # Reaching the mailbox proves ownership of the address as well.
    user.email_verified_at = user.email_verified_at or now
    await db.execute(
        update(EmailToken)
        .where(
            EmailToken.user_id == user.id,
            EmailToken.purpose == "reset",
            EmailToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    await close_all_sessions(db, user_id=user.id)
    return user


async def change_password(
    db: AsyncSession,
    *,
    user: User,
    current: str,
    new: str,
    min_length: int,
    now: datetime,
    keep_session: uuid.UUID | None,
) -> None:
    """Change a password knowing the current one; other sessions are signed out."""
    if not passwords.verify_password(user.password_hash, current):
        raise Unauthorized("the current password is wrong")
    _check_password(new, email=user.email, min_length=min_length)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now
    query = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_session is not None:
        query = query.where(AuthSession.id != keep_session)
    await db.execute(query)


def begin_totp(user: User, *, issuer: str = "camtel") -> tuple[str, str]:
    """Start enrolling a TOTP authenticator: a new secret and its otpauth:// URI."""
    if user.totp_enabled:
        raise Conflict("a second factor is already enabled")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    return secret, pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def pending_totp_uri(user: User, *, issuer: str = "camtel") -> str | None:
    """The otpauth:// URI of an enrolment begun and not yet confirmed (for its QR code)."""
    if user.totp_enabled or not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def confirm_totp(user: User, *, code: str, now: datetime) -> None:
    """Turn the second factor on once the authenticator shows a valid code."""
    if not user.totp_secret:
        raise Invalid("start TOTP enrolment first")
    if not pyotp.TOTP(user.totp_secret).verify(code, for_time=now, valid_window=1):
        raise Invalid("the one-time code is wrong", field="code")
    user.totp_enabled = True


def disable_totp(user: User, *, password: str) -> None:
    """Turn the second factor off (needs the password)."""
    if not passwords.verify_password(user.password_hash, password):
        raise Unauthorized("the password is wrong")
    user.totp_enabled, user.totp_secret = False, None
