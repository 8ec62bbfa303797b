"""Every link camtel mails lands on a page: each kind of mail is sent as camtel sends it, read
from the local outbox, and every address in it is opened in Chromium, by its addressee (signed
in when they have an account) — an HTML page in their language answers, never a 404 or JSON."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from conftest import SCREENS
from helpers.accounts import PASSWORD, sign_up
from helpers.notify import World, store_event

LINK = re.compile(r"https?://[^\s<>\"')]+")
NEWS = "# Spring update\n\nThe map now replays several vehicles at once.\n"
POLICY = "# Privacy notice\n\nWe keep positions for 90 days.\n\n## Contact\n\nWrite to us.\n"


@dataclass
class Reader:
    """Someone camtel writes to: an address, and a password when they have an account."""

    email: str
    password: str | None = None


async def _send_every_kind_of_mail(site, http: httpx.AsyncClient) -> dict[str, Reader]:  # type: ignore[no-untyped-def]
    """Make camtel send each kind of mail it sends, to readers of its own; the readers."""
    services = site.services
    readers = {
        "owner@example.com": Reader("owner@example.com", PASSWORD),
        "member@example.com": Reader("member@example.com", PASSWORD),
        "minor@example.com": Reader("minor@example.com", PASSWORD),
        "guardian@example.com": Reader("guardian@example.com", PASSWORD),
        "visitor@example.com": Reader("visitor@example.com"),
        "new-address@example.com": Reader("new-address@example.com"),
        "stranger@example.com": Reader("stranger@example.com"),
    }
    # Verification (sign_up opens it through the API; the page is opened again below).
    owner, _ = await sign_up(http, services, "owner@example.com")
    member, _ = await sign_up(http, services, "member@example.com", phone="+4915123456780")
    born = (datetime.now(UTC) - timedelta(days=15 * 365)).date().isoformat()
    minor, _ = await sign_up(
        http, services, "minor@example.com", phone="+4915123456781", date_of_birth=born
    )
    await sign_up(http, services, "guardian@example.com", phone="+4915123456782")
    # A second registration of a known address: a notice to its owner.
    again = await http.post(
        "/api/v1/auth/register",
        json={"email": "member@example.com", "phone": "+4915123456780", "password": PASSWORD},
    )
    assert again.status_code == 202, again.text
    # Password reset.
    reset = await http.post("/api/v1/auth/password-reset", json={"email": "member@example.com"})
    assert reset.status_code == 202, reset.text
    # Invitation into the owner's organisation.
    org = (await http.get("/api/v1/me", headers=owner)).json()["organizations"][0]["id"]
    invited = await http.post(
        f"/api/v1/organizations/{org}/invitations",
        headers=owner,
        json={"email": "member@example.com", "role": "driver"},
    )
    assert invited.status_code == 202, invited.text
    # A minor asks for a guardian.
    guardian = await http.post(
        "/api/v1/me/guardian", headers=minor, json={"email": "guardian@example.com"}
    )
    assert guardian.status_code == 202, guardian.text
    # A change of address: a link to the new address, a notice to the old one.
    change = await http.post(
        "/api/v1/me/email",
        headers=owner,
        json={"new_email": "new-address@example.com", "password": PASSWORD},
    )
    assert change.status_code == 202, change.text
    # A new version of the privacy notice, mailed to every account.
    from camtel.privacy import policies

    async with services.database.session() as db:
        await policies.publish(
            db, services.mailer, kind="privacy", text=POLICY, now=datetime.now(UTC),
            base_url=services.settings.base_url, summary="Positions are kept 90 days.",
        )
    # Product news to someone who opted in (its one-click unsubscribe link).
    given = await http.post("/api/v1/me/consents/marketing_email/give", headers=member)
    assert given.status_code == 201, given.text
    from camtel.notify import news

    async with services.database.session() as db:
        sent = await news.send(
            db, services.mailer, subject="Spring update", text=NEWS,
            base_url=services.settings.base_url,
            key=news.load_key(services.settings.data_dir), now=datetime.now(UTC),
        )
    assert sent == 1
    # An alert by email: the owner's rule, an event of their van.
    rule = await http.post(
        "/api/v1/notification-rules", headers=owner,
        json={"channels": ["email"], "event_types": ["geofence_exit"]},
    )
    assert rule.status_code == 201, rule.text
    van = await http.post(
        "/api/v1/devices", headers=owner,
        json={"name": "Van 1", "unique_id": "van-1", "protocol": "osmand"},
    )
    assert van.status_code == 201, van.text
    world = World(org=uuid.UUID(org), device=uuid.UUID(van.json()["id"]))
    services.dispatcher.events_stored([await store_event(services, world)])
    # A saved quote and a booked demo, by a visitor without an account (and their notes to
    # the sales team).
    quote = {"mode": "rent", "devices": 3, "months": 24, "options": []}
    saved = await http.post(
        "/api/v1/leads",
        json={"name": "Vera Visitor", "email": "visitor@example.com", "quote": quote,
              "consent": True},
    )
    assert saved.status_code == 201, saved.text
    slots = (await http.get("/api/v1/demo-slots")).json()["slots"]
    booked = await http.post(
        "/api/v1/demo-bookings",
        json={"name": "Vera Visitor", "email": "visitor@example.com",
              "start": slots[0]["start"], "time_zone": "Europe/Berlin"},
    )
    assert booked.status_code == 201, booked.text
    for _ in range(100):  # the dispatcher mails the alert in its own task
        if any(m.subject.startswith("Van 1") for m in await _outbox(services)):
            break
        await asyncio.sleep(0.1)
    return readers


async def _outbox(services) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(OutboxMail).order_by(OutboxMail.created_at)))


# Mail is mostly read on a phone; the pages the links open are tried on both screens by their
# own tests, so this walk through every link (the slowest browser test) runs once.
@pytest.mark.parametrize("screen", ["phone"])
async def test_every_link_in_every_mail_opens_a_page(site, browser, screen):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=site.url) as http:
        readers = await _send_every_kind_of_mail(site, http)
    mails = await _outbox(site.services)
    base = site.services.settings.base_url
    links: list[tuple[str, str, str]] = []  # (addressee, subject, path)
    for mail in mails:
        for url in LINK.findall(mail.body):
            url = url.rstrip(".,;")
            if url.startswith(base):
                links.append((mail.to_address, mail.subject, url[len(base):] or "/"))
    kinds = {subject.split(":")[0][:30] for _to, subject, _path in links}
    assert len(kinds) >= 10, f"expected every kind of mail, got {sorted(kinds)}"
    paths = {re.sub(r"token=[^&]+", "token=…", path) for _to, _s, path in links}
    for expected in (
        "/verify?token=…", "/reset?token=…", "/login", "/app/invitations", "/guardian?token=…",
        "/email-change?token=…", "/privacy", "/u/", "/app/alerts", "/pricing/saved?token=…",
        "/demo/booking?token=…",
    ):
        assert any(p.startswith(expected) for p in paths), (expected, sorted(paths))

    contexts: dict[str, object] = {}
    try:
        for addressee, subject, path in links:
            reader = readers.get(addressee, readers["stranger@example.com"])
            context = contexts.get(reader.email)
            if context is None:
                context = await browser.new_context(
                    base_url=site.url, locale="de-DE", **SCREENS[screen]
                )
                contexts[reader.email] = context
                if reader.password and not addressee.startswith("new-address"):
                    page = await context.new_page()
                    await page.goto("/login")
                    await page.get_by_label("E-Mail").fill(reader.email)
                    await page.get_by_label("Passwort", exact=True).fill(reader.password)
                    await page.get_by_role("button", name="Anmelden").click()
                    await page.wait_for_url(lambda url: "/login" not in url)
                    await page.close()
            page = await context.new_page()
            answer = await page.goto(path)
            assert answer is not None, path
            what = f"{subject!r} to {addressee}: {path} -> {answer.status} {page.url}"
            # A page, never "404 Not Found" or JSON: a link already used says so on a page.
            assert answer.status not in (404, 405) and answer.status < 500, what
            assert answer.headers["content-type"].startswith("text/html"), what
            assert await page.locator("html").get_attribute("lang") == "de", what
            assert await page.locator("main h1, main h2").count() >= 1, what
            await page.close()
    finally:
        for context in contexts.values():
            await context.close()  # type: ignore[attr-defined]
