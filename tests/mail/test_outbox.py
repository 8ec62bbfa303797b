"""Mail goes out through a real SMTP server on loopback; without one it stays in the outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from camtel.app import build_api
from camtel.mail.models import OutboxMail
from camtel.mail.outbox import Mailer
from camtel.services import Services


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


async def test_verification_mail_is_delivered_by_smtp(services, smtp):
    settings = services.settings
    import httpx

    inbox, port = smtp
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )
    services = Services.build(configured)
    transport = httpx.ASGITransport(app=build_api(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            answer = await client.post(
                "/api/v1/auth/register",
                json={
                    "email": "smtp@example.com",
                    "phone": "+4915123456789",
                    "password": "a long and private passphrase",
                },
            )
            assert answer.status_code == 202
            for _ in range(100):
                if inbox.messages:
                    break
                await asyncio.sleep(0.05)
        assert len(inbox.messages) == 1
        _sender, recipients, content = inbox.messages[0]
        assert recipients == ["smtp@example.com"]
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert message["Subject"] == "Confirm your camtel email address"
        text = message.get_content()
        token = text.split("token=", 1)[1].split()[0]
        async with services.database.session() as db:
            mail = await db.scalar(
                select(OutboxMail).where(OutboxMail.to_address == "smtp@example.com")
            )
            assert mail.status == "sent" and mail.sent_at is not None
            assert token not in mail.body, "a delivered link does not stay in the database"
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            verified = await client.get("/api/v1/auth/verify", params={"token": token})
            assert verified.status_code == 200
    finally:
        await services.database.dispose()


async def test_unreachable_smtp_keeps_the_mail_for_retry(services):
    settings = services.settings
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": _free_port(), "smtp_starttls": False}
    )
    services = Services.build(configured)
    try:
        async with services.database.session() as db:
            services.mailer.queue(db, to="r@example.com", subject="s", body="b", user_id=None)
        assert await services.mailer.deliver_pending() == 0
        async with services.database.session() as db:
            mail = await db.scalar(
                select(OutboxMail).where(OutboxMail.to_address == "r@example.com")
            )
            assert (mail.status, mail.attempts) == ("pending", 1)
    finally:
        await services.database.dispose()


async def test_without_smtp_mail_is_kept_in_the_outbox(client, services):
    await client.post(
        "/api/v1/auth/register",
        json={
            "email": "kept@example.com",
            "phone": "+4915123456789",
            "password": "a long and private passphrase",
        },
    )
    async with services.database.session() as db:
        mail = await db.scalar(select(OutboxMail))
    assert mail.status == "kept" and "token=" in mail.body


async def test_two_processes_delivering_at_once_send_each_mail_once(services, smtp):
    """An API node sending right after requests and a worker's retry round, at the same
    moment over one outbox: every mail reaches the server exactly once."""
    inbox, port = smtp
    configured = services.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )
    api, worker = (Mailer(configured, services.database, holder=name) for name in ("a", "w"))
    addresses = [f"fleet{n}@example.com" for n in range(45)]
    async with services.database.session() as db:
        for address in addresses:
            api.queue(db, to=address, subject="Alert", body="b", user_id=None)
    sent = await asyncio.gather(api.deliver_pending(), worker.deliver_pending(),
                                api.deliver_pending())
    assert sum(sent) == len(addresses)
    assert sorted(rcpt for _, (rcpt,), _ in inbox.messages) == sorted(addresses)
    async with services.database.session() as db:
        mails = (await db.scalars(select(OutboxMail))).all()
    assert {(m.status, m.claimed_by) for m in mails} == {("sent", None)}
