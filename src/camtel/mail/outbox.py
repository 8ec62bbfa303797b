"""The outbox: mail is written to it in the caller's transaction, then delivered by SMTP when
configured (each mail claimed by one process, retried, its body cleared once sent)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import cast

import aiosmtplib
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.config import Settings
from camtel.db import claims
from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.mail.models import OutboxMail

log = logging.getLogger(__name__)

#: Give up on a mail after this many failed SMTP attempts (it stays visible in the outbox).
MAX_ATTEMPTS = 5
#: What a delivered mail's body becomes: it may have carried a one-time link.
REDACTED = "[body removed after delivery]"
#: Headers a mail may carry besides From, To and Subject (RFC 2369 / RFC 8058 list headers).
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"})
#: A delivery round claims this many pending mails, so that two processes' rounds (an API
#: node sending right after a request, a worker's retries) never send one mail twice.
ROUND = 20
_SMTP_TIMEOUT_S = 15
#: Long enough for a round whose every mail times out.
_LEASE = timedelta(seconds=ROUND * _SMTP_TIMEOUT_S + 60)
DELIVERY = claims.Work(
    "mail", cast(Table, OutboxMail.__table__), lambda: OutboxMail.status == "pending"
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A text file sent with a mail, e.g. `invite.ics` as `text/calendar; method=REQUEST`."""

    filename: str
    content_type: str  # text/<subtype>, optionally with parameters
    content: str


class Mailer:
    """Queues mail in the outbox and delivers it; never writes addresses or bodies to logs."""

    def __init__(
        self, settings: Settings, database: Database, *, holder: str = claims.HOLDER
    ) -> None:
        self.settings = settings
        self.database = database
        self.holder = holder

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def queue(
        self,
        db: AsyncSession,
        *,
        to: str,
        subject: str,
        body: str,
        user_id: uuid.UUID | None,
        headers: dict[str, str] | None = None,
        html: str | None = None,
        attachments: list[Attachment] | None = None,
    ) -> OutboxMail:
        """Add a mail to the outbox in the caller's transaction (sent after it commits);
        `html` is an alternative of the text `body`, `attachments` are text files."""
        unknown = set(headers or ()) - EXTRA_HEADERS
        if unknown:
            raise ValueError(f"headers not allowed on outgoing mail: {sorted(unknown)}")
        if any(not a.content_type.startswith("text/") for a in attachments or ()):
            raise ValueError("only text attachments can be queued")
        mail = OutboxMail(
            user_id=user_id,
            to_address=to,
            subject=subject,
            body=body,
            headers=dict(headers) if headers else None,
            html=html,
            attachments=[asdict(a) for a in attachments] if attachments else None,
            status="pending" if self.smtp_enabled else "kept",
            created_at=utcnow(),
        )
        db.add(mail)
        return mail

    async def deliver_pending(self) -> int:
        """Send pending mail by SMTP, a claimed round at a time until none is left that no
        other process holds; returns how many went out."""
        if not self.smtp_enabled:
            return 0
        sent = 0
        while taken := await claims.claim(
            self.database, DELIVERY, now=utcnow(), limit=ROUND, holder=self.holder, lease=_LEASE
        ):
            sent += await self._deliver(taken)
            if len(taken) < ROUND:
                break
        return sent

    async def _deliver(self, taken: list[uuid.UUID]) -> int:
        """Send the claimed mails, each once; a failure waits for a later round."""
        sent = 0
        async with self.database.session() as db:
            pending = (
                await db.scalars(
                    select(OutboxMail)
                    .where(OutboxMail.id.in_(taken))
                    .order_by(OutboxMail.created_at)
                )
            ).all()
            for mail in pending:
                mail.claimed_by = mail.claimed_until = None
                try:
                    await self._send(mail)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    mail.attempts += 1
                    mail.error = type(exc).__name__
                    if mail.attempts >= MAX_ATTEMPTS:
                        mail.status = "failed"
                    log.warning(
                        "mail not delivered",
                        extra={"mail_id": str(mail.id), "error": type(exc).__name__},
                    )
                    continue
                mail.status, mail.sent_at, mail.error = "sent", utcnow(), ""
                # Links in mail are credentials; once delivered, the copy here is not needed.
                mail.body, mail.headers, mail.html, mail.attachments = REDACTED, None, None, None
                sent += 1
                await db.commit()  # sent is sent: a later failure must not send it again
        return sent

    async def _send(self, mail: OutboxMail) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        for name, value in (mail.headers or {}).items():
            if name in EXTRA_HEADERS:
                message[name] = value
        message.set_content(mail.body)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        for attachment in mail.attachments or ():
            subtype, params = _text_type(attachment["content_type"])
            message.add_attachment(
                attachment["content"],
                subtype=subtype,
                filename=attachment["filename"],
                params=params,
            )
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username or None,
            password=self.settings.smtp_password or None,
            start_tls=None if self.settings.smtp_starttls else False,
            timeout=_SMTP_TIMEOUT_S,
        )


def _text_type(content_type: str) -> tuple[str, dict[str, str]]:
    """("calendar", {"method": "REQUEST"}) of "text/calendar; method=REQUEST". Pure."""
    kind, *rest = (part.strip() for part in content_type.split(";"))
    params = dict(part.split("=", 1) for part in rest if "=" in part)
    return kind.removeprefix("text/"), {k.strip(): v.strip().strip('"') for k, v in params.items()}
