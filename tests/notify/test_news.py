"""Product news (marketing_email, P17): only opted-in adults get it, through a real SMTP server
on loopback; each mail has RFC 8058 one-click unsubscribe, and one POST withdraws."""

from __future__ import annotations

import email
import email.policy
import socket
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from camtel.accounts.service import create_account
from camtel.app import build_api
from camtel.mail.models import OutboxMail
from camtel.notify import news
from camtel.privacy import consent
from camtel.privacy.consent import Channel, Outcome, Purpose
from camtel.privacy.models import ConsentRecord
from camtel.privacy.rights_models import PrivacyRequest
from camtel.services import Services
from helpers.accounts import PASSWORD

NOW = datetime.now(UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 OK"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def _person(db, mail: str, *, decisions=(), born=None, verified=True):  # type: ignore[no-untyped-def]
    user = await create_account(
        db,
        email=mail,
        phone="+4915123456789",
        password=PASSWORD,
        min_length=8,
        now=NOW - timedelta(days=1),
        date_of_birth=born,
        verified=verified,
    )
    for step, outcome in enumerate(decisions):
        await consent.record(
            db,
            user_id=user.id,
            purpose=Purpose.MARKETING_EMAIL,
            outcome=outcome,
            channel=Channel.API,
            now=NOW - timedelta(hours=10 - step),
        )
    return user


async def _send(services: Services, subject: str) -> int:
    async with services.database.session() as db:
        queued = await news.send(
            db,
            services.mailer,
            subject=subject,
            text="# New: trip reports\n\nTrip reports now show fuel use.\n",
            base_url=services.settings.base_url,
            key=news.load_key(services.settings.data_dir),
            now=NOW,
        )
    await services.mailer.deliver_pending()
    return queued


async def test_news_reaches_only_opted_in_adults_and_one_click_withdraws(services, smtp):
    inbox, port = smtp
    services = Services.build(
        services.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
        )
    )
    given, withdrawn = Outcome.GIVEN, Outcome.WITHDRAWN
    async with services.database.session() as db:
        fan = await _person(db, "fan@example.com", decisions=[given])
        await _person(db, "silent@example.com")  # never asked: strict opt-in, no mail
        await _person(db, "changed@example.com", decisions=[given, withdrawn])
        await _person(db, "regiven@example.com", decisions=[withdrawn, given])
        await _person(db, "teen@example.com", decisions=[given], born=date(NOW.year - 15, 1, 1))
        await _person(db, "unverified@example.com", decisions=[given], verified=False)
        leaving = await _person(db, "leaving@example.com", decisions=[given])
        db.add(
            PrivacyRequest(
                kind="erasure",
                user_id=leaving.id,
                status="pending",
                due_at=NOW + timedelta(days=30),
                created_at=NOW,
            )
        )
        fan_id = fan.id

    assert await _send(services, "camtel news: trip reports") == 2
    assert sorted(m["To"] for m in inbox.messages) == ["fan@example.com", "regiven@example.com"]
    message = next(m for m in inbox.messages if m["To"] == "fan@example.com")
    assert message["Subject"] == "camtel news: trip reports"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">"), header
    url = header[1:-1]
    assert url.startswith(f"{services.settings.base_url}/u/"), url
    assert url in message.get_content(), "the body has the same link"
    async with services.database.session() as db:
        kept = list(await db.scalars(select(OutboxMail).where(OutboxMail.user_id == fan_id)))
        assert [m.status for m in kept] == ["sent"] and kept[0].headers is None, "link gone"

    path = urlsplit(url).path
    token = path.removeprefix("/u/")
    forged = f"{token[:-4]}AAAA"
    other = news.unsubscribe_token(b"k" * 32, fan_id, Purpose.MARKETING_EMAIL).split(".", 2)[2]
    transport = httpx.ASGITransport(app=build_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        page = await http.get(path)
        assert page.status_code == 200 and 'method="post"' in page.text
        assert not page.cookies, "no cookie on the way out"
        for bad in (forged, "garbled", f"{token.rsplit('.', 1)[0]}.{other}", f"{uuid.uuid4()}"):
            assert (await http.get(f"/u/{bad}")).status_code == 404, bad
            assert (await http.post(f"/u/{bad}")).status_code == 404, bad
        async with services.database.session() as db:
            assert await consent.allows(db, fan_id, Purpose.MARKETING_EMAIL), "bad links: no-op"
        one_click = await http.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200, one_click.text
        again = await http.post(path, content=b"List-Unsubscribe=One-Click")
        assert again.status_code == 200, "a second click is harmless"

    async with services.database.session() as db:
        rows = list(
            await db.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.user_id == fan_id)
                .order_by(ConsentRecord.time)
            )
        )
        assert [(r.outcome, r.channel) for r in rows] == [
            ("given", "api"),
            ("withdrawn", "email"),
        ], "one withdrawal recorded, by the link"
        assert not await consent.allows(db, fan_id, Purpose.MARKETING_EMAIL)

    inbox.messages.clear()
    assert await _send(services, "camtel news: more") == 1
    assert [m["To"] for m in inbox.messages] == ["regiven@example.com"]
    await services.database.dispose()


async def test_a_forged_link_writes_nothing(services):
    key = news.load_key(services.settings.data_dir)
    assert news.load_key(services.settings.data_dir) == key, "made once, then kept"
    async with services.database.session() as db:
        person = await _person(db, "forge@example.com", decisions=[Outcome.GIVEN])
        token = news.unsubscribe_token(key, person.id, Purpose.MARKETING_EMAIL)
        assert news.read_token(key, token) == (person.id, Purpose.MARKETING_EMAIL)
        # Another purpose under the same signature, or a purpose no link may withdraw.
        user_hex, _, mac = token.split(".")
        assert news.read_token(key, f"{user_hex}.analytics.{mac}") is None
        signed_other = news.unsubscribe_token(key, person.id, Purpose.ANALYTICS)
        assert news.read_token(key, signed_other) is None
        assert await news.unsubscribe(db, key=b"x" * 32, token=token, now=NOW) is None
        count = await db.scalar(select(func.count()).select_from(ConsentRecord))
        assert count == 1


def test_who_may_receive_news():
    class D:
        def __init__(self, outcome: str) -> None:
            self.outcome = outcome

    yes, no = D("given"), D("withdrawn")
    ok = {"minor": False, "verified": True, "erasure_pending": False}
    assert news.may_receive(decision=yes, **ok)  # type: ignore[arg-type]
    assert not news.may_receive(decision=None, **ok), "strict opt-in"
    assert not news.may_receive(decision=no, **ok)  # type: ignore[arg-type]
    assert not news.may_receive(decision=D("refused"), **ok)  # type: ignore[arg-type]
    assert not news.may_receive(decision=yes, **(ok | {"minor": True}))  # type: ignore[arg-type]
    assert not news.may_receive(decision=yes, **(ok | {"verified": False}))  # type: ignore[arg-type]
    assert not news.may_receive(decision=yes, **(ok | {"erasure_pending": True}))  # type: ignore[arg-type]
    body = news.compose("Hello", "https://camtel.example/u/t")
    assert body.startswith("Hello\n") and "https://camtel.example/u/t" in body


def test_the_news_send_command(tmp_path):
    import asyncio

    from typer.testing import CliRunner

    from camtel.cli import app
    from camtel.config import Settings
    from camtel.db import migrate
    from camtel.db.engine import Database

    env = {"CAMTEL_DATA_DIR": str(tmp_path / "data"), "CAMTEL_DATABASE_URL": ""}
    settings = Settings(data_dir=tmp_path / "data", database_url="")
    settings.data_dir.mkdir(parents=True)
    migrate.upgrade(settings.sqlalchemy_url)

    async def seed() -> None:
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.session() as db:
                await _person(db, "cli-fan@example.com", decisions=[Outcome.GIVEN])
                await _person(db, "cli-quiet@example.com")
        finally:
            await database.dispose()

    async def outbox() -> list[OutboxMail]:
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.session() as db:
                return list(await db.scalars(select(OutboxMail)))
        finally:
            await database.dispose()

    asyncio.run(seed())
    file = tmp_path / "news.md"
    file.write_text("# Hello\n\nNews.\n", encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["news", "send", str(file), "--subject", "camtel news"], env=env)
    assert done.exit_code == 0, done.output
    assert "queued for 1 opted-in" in done.output
    mails = [m for m in asyncio.run(outbox()) if m.subject == "camtel news"]
    assert [m.to_address for m in mails] == ["cli-fan@example.com"]
    assert mails[0].status == "kept" and "List-Unsubscribe" in (mails[0].headers or {})
    empty = tmp_path / "empty.md"
    empty.write_text(" \n", encoding="utf-8")
    refused = runner.invoke(app, ["news", "send", str(empty), "--subject", "x"], env=env)
    assert refused.exit_code == 1 and "empty" in refused.output
