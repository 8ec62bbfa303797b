"""The routes the privacy centre added, on both engines: who read my data, my devices'
connections, my sessions (listed and ended one by one, tokens never shown), erasure confirmed
by the password from the web app, an export's progress, a guardian's decisions, and the
email-change link that opens a page."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from camtel.privacy import export_jobs
from camtel.privacy.models import DeviceAccessEntry
from helpers.accounts import PASSWORD, join, latest_token, sign_up

FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"


async def _web_session(client, email: str) -> str:  # type: ignore[no-untyped-def]
    """Sign in as the web app does; the client keeps the cookies; returns the CSRF value."""
    answer = await client.post(
        "/api/v1/auth/session",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": FIREFOX},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf_token"]


async def _fleet(client, services):  # type: ignore[no-untyped-def]
    """An owner with a van driven by a driver of their organisation."""
    boss, _ = await sign_up(client, services, "boss@example.com", display_name="Berta Boss")
    driver, driver_id = await sign_up(client, services, "driver@example.com")
    org = (await client.get("/api/v1/organizations", headers=boss)).json()[0]["id"]
    await join(client, boss, org, "driver@example.com", "driver", driver)
    van = await client.post(
        "/api/v1/devices",
        headers=boss,
        json={
            "name": "Van <b>7</b>",
            "unique_id": "7601",
            "protocol": "osmand",
            "organization_id": org,
            "driver_id": driver_id,
        },
    )
    assert van.status_code == 201, van.text
    return boss, driver, van.json()["id"]


async def test_a_driver_sees_who_read_their_data_and_nobody_else_does(client, services):
    boss, driver, van = await _fleet(client, services)
    for _ in range(2):
        await client.get(f"/api/v1/devices/{van}/positions", headers=boss)
    await client.get(f"/api/v1/events?device_id={van}", headers=boss)
    await client.get(f"/api/v1/devices/{van}/positions", headers=driver)  # their own: not noted

    first = await client.get("/api/v1/me/access-audit?limit=2", headers=driver)
    assert first.status_code == 200, first.text
    rows = first.json()
    assert [r["action"] for r in rows] == ["read_events", "read_positions"]
    assert {(r["actor_name"], r["actor_known"], r["actor_role"]) for r in rows} == {
        ("Berta Boss", True, "owner")
    }
    assert {(r["device_id"], r["device_name"]) for r in rows} == {(van, "Van <b>7</b>")}
    assert rows[0]["time"] >= rows[1]["time"]
    assert "email" not in str(rows) and "boss@example.com" not in str(rows)
    following = first.headers["link"].split(";")[0].strip("<>")
    rest = (await client.get(following, headers=driver)).json()
    assert [r["action"] for r in rest] == ["read_positions"]
    assert (await client.get("/api/v1/me/access-audit", headers=boss)).json() == []

    # A reader who deletes their account stays in the audit, as a deleted account.
    assert (await client.delete("/api/v1/me", headers=boss)).status_code == 200
    gone = (await client.get("/api/v1/me/access-audit", headers=driver)).json()
    assert len(gone) == 3
    assert {(r["actor_name"], r["actor_known"]) for r in gone} == {("", False)}


async def test_device_connections_are_shown_to_their_people_only(client, services):
    boss, driver, van = await _fleet(client, services)
    other, _ = await sign_up(client, services, "other@example.com")
    own = await client.post(
        "/api/v1/devices",
        headers=other,
        json={"name": "Own car", "unique_id": "7602", "protocol": "osmand"},
    )
    now = datetime.now(UTC).replace(microsecond=0)
    async with services.database.session() as db:
        for minutes, device in [(3, van), (2, own.json()["id"]), (1, van)]:
            db.add(
                DeviceAccessEntry(
                    device_id=uuid.UUID(device),
                    time=now - timedelta(minutes=minutes),
                    kind="device_connect",
                    protocol="osmand",
                    address_hash=None,
                    model="Traccar Client 9",
                )
            )
    shown = await client.get("/api/v1/me/device-access-log?limit=1", headers=driver)
    assert shown.status_code == 200, shown.text
    [latest] = shown.json()
    assert latest["device_id"] == van and latest["device_name"] == "Van <b>7</b>"
    assert latest["model"] == "Traccar Client 9" and latest["same_address_as_now"] is False
    older = await client.get(shown.headers["link"].split(";")[0].strip("<>"), headers=driver)
    assert [r["device_id"] for r in older.json()] == [van]
    mine = (await client.get("/api/v1/me/device-access-log", headers=other)).json()
    assert [r["device_name"] for r in mine] == ["Own car"]
    # The owner of a fleet (an organisation with other members) finds them on the devices,
    # not here: their privacy centre shows their own things.
    assert (await client.get("/api/v1/me/device-access-log", headers=boss)).json() == []


async def test_sessions_are_listed_without_tokens_and_ended_one_by_one(client, services):
    api_headers, _ = await sign_up(client, services, "sessions@example.com")
    csrf = await _web_session(client, "sessions@example.com")
    listed = await client.get("/api/v1/me/sessions", headers={"X-CSRF-Token": csrf})
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert {s["kind"] for s in sessions} == {"web", "api"}
    web = next(s for s in sessions if s["kind"] == "web")
    api = next(s for s in sessions if s["kind"] == "api")
    assert web["current"] is True and api["current"] is False
    assert web["client"] == "Firefox on Android"
    assert set(web) == {
        "id",
        "kind",
        "created_at",
        "last_seen_at",
        "expires_at",
        "client",
        "current",
    }
    token = api_headers["Authorization"].split()[1]
    assert token not in listed.text and client.cookies["camtel_session"] not in listed.text

    stranger, _ = await sign_up(client, services, "stranger@example.com")
    refused = await client.delete(f"/api/v1/me/sessions/{api['id']}", headers=stranger)
    assert refused.status_code == 404, "another person's session is not there for them"
    without_csrf = await client.delete(f"/api/v1/me/sessions/{api['id']}")
    assert without_csrf.status_code == 403
    ended = await client.delete(f"/api/v1/me/sessions/{api['id']}", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 204
    assert (await client.get("/api/v1/me", headers=api_headers)).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 200, "the web session goes on"
    again = await client.delete(f"/api/v1/me/sessions/{api['id']}", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 404

    # Ending the session one is using signs this browser out.
    this = await client.delete(f"/api/v1/me/sessions/{web['id']}", headers={"X-CSRF-Token": csrf})
    assert this.status_code == 204
    assert 'camtel_session=""' in this.headers.get("set-cookie", "")
    client.cookies.clear()
    assert (await client.get("/api/v1/me/sessions")).status_code == 401


async def test_the_web_app_erases_only_with_the_password(client, services):
    await sign_up(client, services, "leaving@example.com")
    csrf = await _web_session(client, "leaving@example.com")
    headers = {"X-CSRF-Token": csrf}
    unconfirmed = await client.request("DELETE", "/api/v1/me", headers=headers)
    assert unconfirmed.status_code == 422 and unconfirmed.json()["field"] == "password"
    wrong = await client.request(
        "DELETE", "/api/v1/me", headers=headers, json={"password": "not my password at all"}
    )
    assert wrong.status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 200, "nothing was erased"

    erased = await client.request(
        "DELETE", "/api/v1/me", headers=headers, json={"password": PASSWORD}
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "done"
    assert 'camtel_session=""' in erased.headers.get("set-cookie", "")
    refused = await client.post(
        "/api/v1/auth/token", json={"email": "leaving@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401


async def test_an_api_client_may_erase_with_or_without_the_password(client, services):
    plain, _ = await sign_up(client, services, "plain@example.com")
    assert (await client.delete("/api/v1/me", headers=plain)).status_code == 200
    checked, _ = await sign_up(client, services, "checked@example.com")
    wrong = await client.request(
        "DELETE", "/api/v1/me", headers=checked, json={"password": "a wrong passphrase here"}
    )
    assert wrong.status_code == 401
    right = await client.request(
        "DELETE", "/api/v1/me", headers=checked, json={"password": PASSWORD}
    )
    assert right.status_code == 200


async def test_an_export_job_tells_its_progress_then_is_ready(client, services):
    headers, _ = await sign_up(client, services, "export@example.com", display_name="Ex Port")
    started = await client.get("/api/v1/me/export", params={"async": "true"}, headers=headers)
    assert started.status_code == 202, started.text
    job = started.json()["id"]
    for _ in range(200):
        state = (await client.get(f"/api/v1/me/exports/{job}/status", headers=headers)).json()
        if state["status"] != "processing":
            break
        await asyncio.sleep(0.05)
    assert state["status"] == "ready" and state["progress"] == 1.0
    assert state["url"] == f"/api/v1/me/exports/{job}"
    archive = zipfile.ZipFile(io.BytesIO((await client.get(state["url"], headers=headers)).content))
    assert "Ex Port" in archive.read("data/users.json").decode()

    stranger, _ = await sign_up(client, services, "nosy@example.com")
    assert (
        await client.get(f"/api/v1/me/exports/{job}/status", headers=stranger)
    ).status_code == 404
    export_jobs.export_file(services.settings.data_dir, uuid.UUID(job)).unlink()
    assert (await client.get(f"/api/v1/me/exports/{job}/status", headers=headers)).json()[
        "status"
    ] == "expired"


def test_export_states_and_progress_are_plain_decisions():
    assert export_jobs.state("processing", file_exists=False) == "processing"
    assert export_jobs.state("done", file_exists=True) == "ready"
    assert export_jobs.state("done", file_exists=False) == "expired"
    assert export_jobs.state("failed", file_exists=False) == "failed"
    assert export_jobs.progress_of(None) is None
    assert export_jobs.progress_of({"progress": {"done": 10, "total": 40}}) == 0.25
    assert export_jobs.progress_of({"progress": {"done": 50, "total": 40}}) == 1.0
    assert export_jobs.progress_of({"progress": {"done": "x", "total": 40}}) is None
    assert export_jobs.progress_of({"files": 3}) is None


async def test_a_running_export_reports_how_far_it_is(client, services, monkeypatch):
    from camtel.privacy.rights_models import PrivacyRequest

    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY_S", 0.0)
    seen: list[object] = []

    async def slow_hook(db, scope, archive):  # type: ignore[no-untyped-def]
        async with services.database.session() as check:
            seen.append((await check.get(PrivacyRequest, request_id)).summary)
        return {}

    _, user_id = await sign_up(client, services, "progress@example.com")
    now = datetime.now(UTC)
    async with services.database.session() as db:
        request = PrivacyRequest(
            kind="export",
            user_id=uuid.UUID(user_id),
            status="processing",
            due_at=now,
            created_at=now,
        )
        db.add(request)
        await db.flush()
        request_id = request.id
    await export_jobs.run(
        services.database,
        request_id=request_id,
        data_dir=services.settings.data_dir,
        hooks=[slow_hook],
    )
    [summary] = seen
    reported = summary["progress"]  # type: ignore[index]
    assert 0 < reported["done"] < reported["total"], "the tables were counted before the hook"
    async with services.database.session() as db:
        assert (await db.get(PrivacyRequest, request_id)).status == "done"  # type: ignore[union-attr]


async def test_a_guardian_sees_their_decisions_per_kind(client, services):
    born = (datetime.now(UTC) - timedelta(days=365 * 14)).date().isoformat()
    minor, minor_id = await sign_up(
        client, services, "kid@example.com", date_of_birth=born, display_name="Kid"
    )
    await client.post("/api/v1/me/guardian", headers=minor, json={"email": "mum@example.com"})
    token = await latest_token(services, "mum@example.com")
    assert f"/guardian?token={token}" in await _mail_body(services, "mum@example.com")
    mum, _ = await sign_up(client, services, "mum@example.com", adult=True)
    assert (
        await client.post("/api/v1/guardians/confirm", headers=mum, json={"token": token})
    ).status_code == 200
    url = f"/api/v1/guardians/wards/{minor_id}/collection"
    await client.post(f"{url}/location", headers=mum, json={"outcome": "given"})
    await client.post(f"{url}/video", headers=mum, json={"outcome": "refused"})
    [ward] = (await client.get("/api/v1/guardians/wards", headers=mum)).json()
    assert ward["decisions"] == {
        "location": "given",
        "video": "refused",
        "diagnostics": "not_asked",
    }
    assert ward["collection_allowed"] == {"location": True, "video": False, "diagnostics": False}


async def _mail_body(services, address: str) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from camtel.mail.models import OutboxMail

    async with services.database.session() as db:
        mail = await db.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_address == address)
            .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
            .limit(1)
        )
    assert mail is not None
    return mail.body


async def test_the_email_change_link_opens_a_page_and_the_api_route_still_works(client, services):
    headers, _ = await sign_up(client, services, "move@example.com")
    asked = await client.post(
        "/api/v1/me/email",
        headers=headers,
        json={"new_email": "moved@example.com", "password": PASSWORD},
    )
    assert asked.status_code == 202
    body = await _mail_body(services, "moved@example.com")
    token = await latest_token(services, "moved@example.com")
    assert f"{services.settings.base_url}/email-change?token={token}" in body

    page = await client.get(
        "/email-change", params={"token": token}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 200 and "Email address changed" in page.text
    assert token not in page.text
    used = await client.get("/email-change", params={"token": token})
    assert used.status_code == 400 and "This link does not work" in used.text
    assert (
        await client.post(
            "/api/v1/auth/token", json={"email": "moved@example.com", "password": PASSWORD}
        )
    ).status_code == 200

    # API clients keep confirming at the API route.
    fresh, _ = await sign_up(client, services, "api-move@example.com")
    await client.post(
        "/api/v1/me/email",
        headers=fresh,
        json={"new_email": "api-moved@example.com", "password": PASSWORD},
    )
    other = await latest_token(services, "api-moved@example.com")
    confirmed = await client.post("/api/v1/auth/email-change/confirm", json={"token": other})
    assert confirmed.status_code == 200 and confirmed.json()["email"] == "api-moved@example.com"


@pytest.mark.parametrize("token", ["", "x" * 129])
async def test_a_broken_email_change_link_says_so(client, services, token):
    page = await client.get("/email-change", params={"token": token})
    assert page.status_code == 400 and "This link does not work" in page.text
