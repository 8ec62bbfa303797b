"""The privacy layer end to end through the API: consents, minors and guardians, policy
versions, disclosure and breach registers, DPO contact, diagnostics, cookie-less statistics."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select, text

from camtel.accounts.ratelimit import RateLimiter
from camtel.mail.models import OutboxMail
from camtel.privacy import contact, policies
from camtel.privacy.models import (
    AnalyticsDaily,
    AnalyticsHit,
    AnalyticsSalt,
    ConsentRecord,
    ContactMessage,
    DiagnosticsReport,
)
from helpers.accounts import latest_token, sign_up
from helpers.privacy import make_operator, privacy_app, privacy_client

MAC = "3C:22:FB:9A:10:7E"
PHONE_ID = "PHONE-ID-8c41f0e2d7"


@pytest.fixture
async def http(services):  # type: ignore[no-untyped-def]
    async with privacy_client(services) as client:
        yield client


async def _mails_to(services, address: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(OutboxMail).where(OutboxMail.to_address == address)))


# --- consents ------------------------------------------------------------------------------


async def test_consent_is_given_and_withdrawn_with_one_call_each(http, services):
    headers, _ = await sign_up(http, services, "consent@example.com")
    shown = (await http.get("/api/v1/me/consents", headers=headers)).json()
    assert shown["purposes"]["marketing_email"] == {
        "state": "not_asked",
        "allowed": False,
        "since": None,
    }
    given = await http.post("/api/v1/me/consents/marketing_email/give", headers=headers)
    assert given.status_code == 201 and given.json()["outcome"] == "given"
    assert given.json()["channel"] == "api"
    withdrawn = await http.post("/api/v1/me/consents/marketing_email/withdraw", headers=headers)
    assert withdrawn.status_code == 201 and withdrawn.json()["outcome"] == "withdrawn"
    shown = (await http.get("/api/v1/me/consents", headers=headers)).json()
    assert shown["purposes"]["marketing_email"]["state"] == "withdrawn"
    assert not shown["purposes"]["marketing_email"]["allowed"]
    assert [h["outcome"] for h in shown["history"]] == ["given", "withdrawn"]
    # A person cannot set a guardian's consent or accept a policy through this door.
    for purpose in ("guardian_location", "privacy_policy", "selling_data"):
        refused = await http.post(f"/api/v1/me/consents/{purpose}/give", headers=headers)
        assert refused.status_code == 422, purpose
    assert (await http.post("/api/v1/me/consents/analytics/give")).status_code == 401


async def test_no_api_route_edits_or_deletes_a_consent_record(http, services):
    headers, _ = await sign_up(http, services, "noedit@example.com")
    record = (await http.post("/api/v1/me/consents/analytics/give", headers=headers)).json()
    for method in ("PUT", "PATCH", "DELETE"):
        for path in (
            "/api/v1/me/consents",
            "/api/v1/me/consents/analytics",
            f"/api/v1/me/consents/{record['id']}",
            "/api/v1/me/consents/analytics/give",
        ):
            answer = await http.request(method, path, headers=headers, json={"outcome": "x"})
            assert answer.status_code in (404, 405), (method, path, answer.status_code)
    app = privacy_app(services)
    checked = 0
    for route in iter_route_contexts(app.routes):
        path = route.path
        if "consent" in path or "policy-acceptance" in path or "/collection/" in path:
            checked += 1
            methods = set(route.methods or ())
            if path.endswith("/cookie-consent"):
                methods -= {"PUT"}  # appends a decision (tests/privacy/test_cookie_consent.py)
            assert methods <= {"GET", "HEAD", "POST"}, path
    assert checked >= 5, "the walk sees the consent routes"
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(ConsentRecord)) == 1


# --- minors and guardians ------------------------------------------------------------------


async def test_minor_needs_guardian_consent_and_guardian_can_erase(http, services):
    born = (datetime.now(UTC) - timedelta(days=365 * 15)).date().isoformat()
    minor_headers, minor_id = await sign_up(
        http, services, "teen@example.com", date_of_birth=born, display_name="Teen"
    )
    status = (await http.get("/api/v1/me/guardian", headers=minor_headers)).json()
    assert status["is_minor"] and not status["guardian_linked"]
    assert status["collection_allowed"] == {"location": False, "video": False, "diagnostics": False}

    # The minor consents to diagnostics themselves; without the guardian, nothing is taken.
    await http.post("/api/v1/me/consents/diagnostics/give", headers=minor_headers)
    blocked = await http.post(
        "/api/v1/diagnostics", headers=minor_headers, json={"log": "crash", "mac": MAC}
    )
    assert blocked.status_code == 403 and blocked.json()["code"] == "consent_required"

    invited = await http.post(
        "/api/v1/me/guardian", headers=minor_headers, json={"email": "parent@example.com"}
    )
    assert invited.status_code == 202, invited.text
    token = await latest_token(services, "parent@example.com")
    parent_headers, parent_id = await sign_up(http, services, "parent@example.com")
    stranger_headers, _ = await sign_up(http, services, "stranger@example.com")
    stolen = await http.post(
        "/api/v1/guardians/confirm", headers=stranger_headers, json={"token": token}
    )
    assert stolen.status_code == 403, "only the invited address can confirm"
    # The parent registered through the API without stating an age: they must confirm it.
    unconfirmed = await http.post(
        "/api/v1/guardians/confirm", headers=parent_headers, json={"token": token}
    )
    assert unconfirmed.status_code == 422, unconfirmed.text
    assert unconfirmed.json()["code"] == "age_required", unconfirmed.json()
    confirmed = await http.post(
        "/api/v1/guardians/confirm", headers=parent_headers, json={"token": token, "adult": True}
    )
    assert confirmed.status_code == 200, confirmed.text
    me = (await http.get("/api/v1/me", headers=parent_headers)).json()
    assert me["age_basis"] == "confirmed_adult", me
    again = await http.post(
        "/api/v1/guardians/confirm", headers=parent_headers, json={"token": token, "adult": True}
    )
    assert again.status_code == 422, "a link works once"

    wards = (await http.get("/api/v1/guardians/wards", headers=parent_headers)).json()
    assert [w["id"] for w in wards] == [minor_id]
    url = f"/api/v1/guardians/wards/{minor_id}/collection"
    assert (
        await http.post(f"{url}/location", headers=stranger_headers, json={"outcome": "given"})
    ).status_code == 404, "only the guardian decides"
    given = await http.post(f"{url}/location", headers=parent_headers, json={"outcome": "given"})
    assert given.status_code == 201 and given.json()["channel"] == "guardian"
    await http.post(f"{url}/diagnostics", headers=parent_headers, json={"outcome": "given"})
    await http.post(f"{url}/video", headers=parent_headers, json={"outcome": "refused"})
    status = (await http.get("/api/v1/me/guardian", headers=minor_headers)).json()
    assert status["collection_allowed"] == {"location": True, "video": False, "diagnostics": True}
    accepted = await http.post(
        "/api/v1/diagnostics", headers=minor_headers, json={"log": "crash", "mac": MAC}
    )
    assert accepted.status_code == 202, accepted.text

    # The guardian refuses further collection: it stops at once.
    await http.post(f"{url}/location", headers=parent_headers, json={"outcome": "refused"})
    status = (await http.get("/api/v1/me/guardian", headers=minor_headers)).json()
    assert status["collection_allowed"]["location"] is False

    # The guardian demands erasure: the minor's account and data are gone; others stay.
    erased = await http.post(f"/api/v1/guardians/wards/{minor_id}/erasure", headers=parent_headers)
    assert erased.status_code == 202, erased.text
    assert (await http.get("/api/v1/me", headers=minor_headers)).status_code == 401
    assert (await http.get("/api/v1/me", headers=parent_headers)).status_code == 200
    async with services.database.session() as db:
        rows = list(await db.scalars(select(ConsentRecord)))
        assert all(str(r.user_id) != minor_id for r in rows)
        assert await db.scalar(select(func.count()).select_from(DiagnosticsReport)) == 0
    assert (await http.get("/api/v1/guardians/wards", headers=parent_headers)).json() == []
    assert parent_id


async def test_adults_cannot_link_a_guardian(http, services):
    headers, _ = await sign_up(http, services, "adult@example.com")
    answer = await http.post(
        "/api/v1/me/guardian", headers=headers, json={"email": "someone@example.com"}
    )
    assert answer.status_code == 422


# --- policy versions -----------------------------------------------------------------------


async def test_publishing_a_policy_mails_everyone_and_asks_for_acceptance(http, services):
    alice, _ = await sign_up(http, services, "alice@example.com")
    await sign_up(http, services, "bob@example.com")
    assert (await http.get("/api/v1/policies/current")).json() == {"documents": []}
    me = (await http.get("/api/v1/me", headers=alice)).json()
    assert me["policy_acceptance_required"] is False

    async with services.database.session() as db:
        first, mailed = await policies.publish(
            db,
            services.mailer,
            kind=policies.Kind.PRIVACY,
            text="# Privacy policy\n\nWe keep positions 90 days.\n",
            now=services.clock(),
            base_url="https://camtel.example",
        )
        assert (first.version, mailed) == (1, 2)
    for who in ("alice@example.com", "bob@example.com"):
        subjects = [m.subject for m in await _mails_to(services, who)]
        assert any("privacy policy (version 1)" in s for s in subjects), who

    current = (await http.get("/api/v1/policies/current")).json()["documents"]
    assert [(d["kind"], d["version"], d["title"]) for d in current] == [
        ("privacy", 1, "Privacy policy")
    ]
    me = (await http.get("/api/v1/me", headers=alice)).json()
    assert me["policy_acceptance_required"] is True
    assert me["policy_acceptance_pending"] == [{"kind": "privacy", "version": 1}]

    async with services.database.session() as db:
        same, mailed = await policies.publish(
            db,
            services.mailer,
            kind=policies.Kind.PRIVACY,
            text="# Privacy policy\n\nWe keep positions 90 days.\n",
            now=services.clock(),
            base_url="https://camtel.example",
        )
        assert (same.version, mailed) == (1, 0), "the same text is not a new version"
        second, _ = await policies.publish(
            db,
            services.mailer,
            kind=policies.Kind.PRIVACY,
            text="# Privacy policy\n\nWe keep positions 60 days.\n",
            now=services.clock(),
            base_url="https://camtel.example",
        )
        assert second.version == 2
    stale = await http.post(
        "/api/v1/me/policy-acceptance", headers=alice, json={"kind": "privacy", "version": 1}
    )
    assert stale.status_code == 409
    ok = await http.post(
        "/api/v1/me/policy-acceptance", headers=alice, json={"kind": "privacy", "version": 2}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["policy_acceptance_required"] is False
    assert ok.json()["accepted"]["purpose"] == "privacy_policy"
    assert ok.json()["accepted"]["policy_version"] == 2
    assert (await http.get("/api/v1/me", headers=alice)).json()["policy_acceptance_required"] is (
        False
    )
    old = await http.get("/api/v1/policies/privacy/1")
    assert old.status_code == 200 and "90 days" in old.json()["body"]
    for version in ("0", str(2**63), "99999999999999999999999"):  # past any column: no 500
        beyond = await http.get(f"/api/v1/policies/privacy/{version}")
        assert beyond.status_code == 422, (version, beyond.text)


def test_policy_publish_command_mails_every_account_by_smtp(settings, tmp_path):
    import asyncio
    import socket

    from aiosmtpd.controller import Controller

    from camtel.accounts.service import create_account
    from camtel.db.engine import Database
    from helpers.accounts import PASSWORD

    async def seed() -> None:
        database = Database(settings.sqlalchemy_url)
        try:
            async with database.session() as db:
                await create_account(
                    db,
                    email="smtp-reader@example.com",
                    phone="+4915123456789",
                    password=PASSWORD,
                    min_length=8,
                    now=datetime.now(UTC),
                )
        finally:
            await database.dispose()

    received: list[tuple[list[str], bytes]] = []

    class Inbox:
        async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    asyncio.run(seed())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
        )
        document = tmp_path / "terms.md"
        document.write_text("# Terms of service\n\nBe kind to the servers.\n", encoding="utf-8")
        result = policies.publish_file(smtp, document, kind="terms")
        assert result["kind"] == "terms" and result["version"] >= 1
        assert result["mailed"] >= 1 and result["delivered"] >= result["mailed"]
        assert any(rcpt == ["smtp-reader@example.com"] for rcpt, _ in received)
        assert any(b"terms of service (version" in content for _, content in received)
        again = policies.publish_file(smtp, document, kind="terms")
        assert again["version"] == result["version"] and again["mailed"] == 0
    finally:
        controller.stop()


# --- disclosures and breaches --------------------------------------------------------------


async def test_disclosure_register_tells_people_unless_the_law_forbids(http, services):
    op_headers, op_id = await sign_up(http, services, "dpo-operator@example.com")
    told_headers, told_id = await sign_up(http, services, "told@example.com")
    quiet_headers, quiet_id = await sign_up(http, services, "quiet@example.com")
    body = {
        "recipient": "Polizei Berlin",
        "purpose": "investigation of a hit-and-run on 2026-02-27",
        "categories": ["location", "video"],
        "legal_basis": "GDPR Art. 6(1)(c) with § 24 BDSG",
        "disclosed_at": "2026-03-01T10:00:00Z",
        "subjects": [
            {"user_id": told_id},
            {"user_id": quiet_id, "tell": False, "not_told_reason": "§ 95 StPO order"},
        ],
    }
    assert (
        await http.post("/api/v1/privacy/disclosures", headers=told_headers, json=body)
    ).status_code == 403
    await make_operator(services, op_id)
    unreasoned = body | {"subjects": [{"user_id": quiet_id, "tell": False}]}
    assert (
        await http.post("/api/v1/privacy/disclosures", headers=op_headers, json=unreasoned)
    ).status_code == 422
    made = await http.post("/api/v1/privacy/disclosures", headers=op_headers, json=body)
    assert made.status_code == 201, made.text
    assert (made.json()["people"], made.json()["told"]) == (2, 1)
    assert any("disclosed" in m.subject for m in await _mails_to(services, "told@example.com"))
    assert not any("disclosed" in m.subject for m in await _mails_to(services, "quiet@example.com"))
    mine = (await http.get("/api/v1/me/disclosures", headers=told_headers)).json()
    assert [d["recipient"] for d in mine] == ["Polizei Berlin"]
    assert (await http.get("/api/v1/me/disclosures", headers=quiet_headers)).json() == []
    register = (await http.get("/api/v1/privacy/disclosures", headers=op_headers)).json()
    assert {s["not_told_reason"] for s in register[0]["subjects"]} == {"", "§ 95 StPO order"}


async def test_breach_has_a_deadline_and_tells_each_affected_person_once(http, services):
    op_headers, op_id = await sign_up(http, services, "breach-op@example.com")
    await make_operator(services, op_id)
    hit_headers, _ = await sign_up(http, services, "hit@example.com")
    await sign_up(http, services, "spared@example.com")
    # Only this person has diagnostics data.
    await http.post("/api/v1/me/consents/diagnostics/give", headers=hit_headers)
    sent = await http.post("/api/v1/diagnostics", headers=hit_headers, json={"log": "boot loop"})
    assert sent.status_code == 202
    detected = services.clock() - timedelta(hours=10)
    made = await http.post(
        "/api/v1/privacy/breaches",
        headers=op_headers,
        json={
            "detected_at": detected.isoformat(),
            "description": "A misconfigured backup bucket exposed diagnostics logs.",
            "categories": ["diagnostics"],
        },
    )
    assert made.status_code == 201, made.text
    breach = made.json()
    assert datetime.fromisoformat(breach["authority_deadline"]) == detected + timedelta(hours=72)
    assert breach["deadline_status"] == "open" and 61 < breach["hours_left"] <= 62
    shown = (await http.get(f"/api/v1/privacy/breaches/{breach['id']}", headers=op_headers)).json()
    assert shown["affected_people"] == 1
    assert shown["affected_by_table"]["diagnostics_reports"] == 1
    url = f"/api/v1/privacy/breaches/{breach['id']}/notify"
    first = (await http.post(url, headers=op_headers)).json()
    assert first["notified"] == 1
    second = (await http.post(url, headers=op_headers)).json()
    assert second["notified"] == 0 and second["already_told"] == 1
    incident = [m for m in await _mails_to(services, "hit@example.com") if "incident" in m.subject]
    assert len(incident) == 1
    assert not [
        m for m in await _mails_to(services, "spared@example.com") if "incident" in m.subject
    ]
    told = await http.post(
        f"/api/v1/privacy/breaches/{breach['id']}/authority-notified", headers=op_headers, json={}
    )
    assert told.json()["deadline_status"] == "notified"
    assert (await http.get("/api/v1/privacy/breaches", headers=hit_headers)).status_code == 403


# --- DPO contact ---------------------------------------------------------------------------


async def test_contact_form_is_public_kept_and_rate_limited(http, services):
    services.limiters.per_address = RateLimiter(2, 300)
    message = {
        "name": "Kim",
        "email": "kim@example.com",
        "subject": "What do you keep about me?",
        "message": "Please tell me which data you hold.",
    }
    first = await http.post("/api/v1/contact", json=message)
    assert first.status_code == 202, first.text
    assert (await http.post("/api/v1/contact", json=message)).status_code == 202
    assert (await http.post("/api/v1/contact", json=message)).status_code == 429
    async with services.database.session() as db:
        row = await db.scalar(select(ContactMessage).limit(1))
        assert row is not None and row.email == "kim@example.com"
        assert row.expires_at - row.created_at == timedelta(days=365)
        # With a DPO address configured, the message is forwarded through the outbox.
        forwarded = await contact.submit(
            db,
            services.mailer,
            name="Kim",
            email="kim@example.com",
            subject="Erasure",
            message="Please erase me.",
            user_id=None,
            dpo_email="dpo@camtel.example",
            now=services.clock(),
        )
        assert forwarded.forwarded
    mails = await _mails_to(services, "dpo@camtel.example")
    assert len(mails) == 1 and "Please erase me." in mails[0].body


# --- diagnostics ---------------------------------------------------------------------------


async def test_diagnostics_never_store_a_raw_mac_or_phone_id(http, services, engine):
    report = {
        "source": "dashcam",
        "phone_id": PHONE_ID,
        "mac": MAC,
        "dashcam_model": "N4 Pro",
        "dashcam_firmware": "20240110",
        "usage_seconds": 5400,
        "log": f"wifi handshake with {MAC} ({MAC.lower().replace(':', '-')}) from {PHONE_ID}",
    }
    anonymous = await http.post("/api/v1/diagnostics", json=report)
    assert anonymous.status_code == 202, anonymous.text
    again = await http.post("/api/v1/diagnostics", json=report)
    assert again.status_code == 202
    key = services.settings.data_dir / "keys" / "diagnostics.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32

    signed_in, _ = await sign_up(http, services, "diag@example.com")
    refused = await http.post("/api/v1/diagnostics", headers=signed_in, json=report)
    assert refused.status_code == 403, "a signed-in person's logs need their consent"
    await http.post("/api/v1/me/consents/diagnostics/give", headers=signed_in)
    assert (await http.post("/api/v1/diagnostics", headers=signed_in, json=report)).status_code == (
        202
    )
    too_long = report | {"log": "x" * (64 * 1024 + 1)}
    assert (await http.post("/api/v1/diagnostics", json=too_long)).status_code == 422

    async with services.database.session() as db:
        rows = list(await db.scalars(select(DiagnosticsReport)))
        assert len(rows) == 3
        assert len({r.mac_hash for r in rows}) == 1, "the same phone is recognisable"
        assert sum(r.user_id is not None for r in rows) == 1
        dumped = " ".join(
            str(v) for r in rows for v in (r.phone_hash, r.mac_hash, r.log, r.dashcam_model)
        )
        raw_forms = (MAC, MAC.lower(), MAC.replace(":", ""), MAC.lower().replace(":", ""))
        for raw in (*raw_forms, PHONE_ID, MAC.lower().replace(":", "-")):
            assert raw.lower() not in dumped.lower(), raw
        if engine == "sqlite":
            await db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    if engine == "sqlite":
        await services.database.dispose()
        blob = (services.settings.data_dir / "camtel.db").read_bytes().lower()
        for raw in (*raw_forms, PHONE_ID):
            assert raw.lower().encode() not in blob, raw


# --- cookie-less usage statistics ----------------------------------------------------------


async def test_usage_statistics_hide_small_groups_and_forget_visitors(http, services):
    op_headers, op_id = await sign_up(http, services, "stats-op@example.com")
    await make_operator(services, op_id)
    for n in range(12):
        for _ in range(2):  # a visitor viewing twice is one visitor
            answer = await http.post(
                "/api/v1/analytics/hit",
                json={"page": "/pricing?utm=x"},
                headers={"User-Agent": f"Browser/{n}"},
            )
            assert answer.status_code == 204 and "set-cookie" not in answer.headers
    for n in range(3):
        await http.post(
            "/api/v1/analytics/hit", json={"page": "/about"}, headers={"User-Agent": f"B/{n}"}
        )
    await http.post(
        "/api/v1/analytics/hit", json={"page": "/dnt"}, headers={"DNT": "1", "User-Agent": "z"}
    )
    summary = await http.get("/api/v1/analytics/summary?by=page", headers=op_headers)
    assert summary.status_code == 200, summary.text
    data = summary.json()
    assert data["k"] == 10
    assert data["groups"] == [{"page": "/pricing", "visitors": 12, "views": 24}]
    assert data["suppressed_groups"] == 1, "/about has 3 visitors; /dnt was never counted"
    viewer, _ = await sign_up(http, services, "viewer@example.com")
    assert (await http.get("/api/v1/analytics/summary", headers=viewer)).status_code == 403

    # The next day: yesterday's salt and visitor hashes are gone, the counts remain.
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(days=1)
    try:
        later = (await http.get("/api/v1/analytics/summary?by=page", headers=op_headers)).json()
    finally:
        services.clock = real_clock
    assert later["groups"] == [{"page": "/pricing", "visitors": 12, "views": 24}]
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(AnalyticsHit)) == 0
        assert await db.scalar(select(func.count()).select_from(AnalyticsSalt)) == 0
        assert await db.scalar(select(func.count()).select_from(AnalyticsDaily)) == 2
