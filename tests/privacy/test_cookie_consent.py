"""P11: before any consent no route sets a cookie beyond the strictly necessary ones; the
cookie-consent API writes to the consent ledger (anonymous visitors too), and withdrawing is
one call. Consent records stay append-only through the API."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie

from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from camtel.api.deps import CSRF_COOKIE, SESSION_COOKIE
from camtel.api.public import CONSENT_COOKIE, read_consent_cookie
from camtel.app import build_api
from camtel.privacy.models import ConsentRecord
from helpers.accounts import PASSWORD, sign_up

NECESSARY = {SESSION_COOKIE, CSRF_COOKIE, CONSENT_COOKIE}
URL = "/api/v1/cookie-consent"


def _routes(app):  # type: ignore[no-untyped-def]
    """(path, methods) of every HTTP route, including those of included routers."""
    return [
        (c.path, set(getattr(c, "methods", None) or ())) for c in iter_route_contexts(app.routes)
    ]


def _set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every cookie a response sets: name -> the whole Set-Cookie header."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        for name in SimpleCookie(header):
            found[name] = header
    return found


async def _walk(client, app, headers=None) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """GET every route that needs no path parameter; which route set which cookie."""
    seen: dict[str, set[str]] = {}
    paths = sorted({p for p, methods in _routes(app) if "GET" in methods and "{" not in p})
    assert len(paths) > 20, paths  # the walk really reaches the app's routes
    for path in paths:
        answer = await client.get(path, headers=headers or {})
        assert answer.status_code < 500, (path, answer.status_code)
        for name in _set_cookies(answer):
            seen.setdefault(name, set()).add(path)
    return seen


async def test_no_route_sets_an_unnecessary_cookie_before_consent(client, services):
    app = build_api(services)
    anonymous = await _walk(client, app)
    assert anonymous == {}, f"cookies set to an anonymous visitor: {anonymous}"

    headers, _ = await sign_up(client, services, "cookies@example.com")
    assert not client.cookies, "registering, verifying and token sign-in set no cookie"
    session = await client.post(
        "/api/v1/auth/session", json={"email": "cookies@example.com", "password": PASSWORD}
    )
    assert session.status_code == 200, session.text
    assert set(_set_cookies(session)) <= NECESSARY
    signed_in = await _walk(client, app, {"X-CSRF-Token": session.json()["csrf_token"]})
    assert set(signed_in) <= NECESSARY, signed_in
    assert CONSENT_COOKIE not in signed_in, "only a choice sets the consent cookie"
    bearer = await _walk(client, app, headers)
    assert set(bearer) <= NECESSARY, bearer


async def test_an_anonymous_choice_goes_to_the_ledger_and_withdrawing_is_one_call(client, services):
    before = (await client.get(URL)).json()
    assert before["decided"] is False and before["analytics"] is False
    assert not client.cookies

    given = await client.put(URL, json={"analytics": True})
    assert given.status_code == 200, given.text
    assert given.json() | {"since": None} == {
        "decided": True,
        "necessary": True,
        "analytics": True,
        "since": None,
        "recorded_for": "visitor",
        "purpose": "analytics",
        "cookie": CONSENT_COOKIE,
    }
    header = _set_cookies(given)[CONSENT_COOKIE].lower()
    for flag in ("httponly", "secure", "samesite=lax", "max-age=15811200", "path=/"):
        assert flag in header, (flag, header)
    visitor, choice = read_consent_cookie(client.cookies[CONSENT_COOKIE])
    assert visitor is not None and choice is True
    assert (await client.get(URL)).json()["analytics"] is True

    withdrawn = await client.put(URL, json={"analytics": False})
    assert withdrawn.json()["analytics"] is False and withdrawn.json()["decided"] is True
    assert read_consent_cookie(client.cookies[CONSENT_COOKIE]) == (visitor, False)

    async with services.database.session() as db:
        rows = list(await db.scalars(select(ConsentRecord).order_by(ConsentRecord.time)))
    assert [(r.visitor_id, r.user_id, r.purpose, r.outcome, r.channel) for r in rows] == [
        (visitor, None, "analytics", "given", "web"),
        (visitor, None, "analytics", "withdrawn", "web"),
    ]
    # A new browser that says no straight away refuses (nothing to withdraw).
    client.cookies.clear()
    assert (await client.put(URL, json={"analytics": False})).json()["analytics"] is False
    async with services.database.session() as db:
        last = await db.scalar(select(ConsentRecord).order_by(ConsentRecord.time.desc()).limit(1))
        assert last.outcome == "refused" and last.visitor_id not in (None, visitor)


async def test_a_signed_in_choice_is_the_accounts_analytics_consent(client, services):
    headers, user_id = await sign_up(client, services, "banner@example.com")
    before = {"Cookie": f"{CONSENT_COOKIE}={'a' * 32}.1"}  # chosen before signing in
    answer = await client.put(URL, headers=headers | before, json={"analytics": True})
    assert answer.json()["recorded_for"] == "account"
    assert read_consent_cookie(answer.cookies[CONSENT_COOKIE]) == (None, True)
    consents = (await client.get("/api/v1/me/consents", headers=headers)).json()
    assert consents["purposes"]["analytics"]["state"] == "given"
    await client.put(URL, headers=headers, json={"analytics": False})
    consents = (await client.get("/api/v1/me/consents", headers=headers)).json()
    assert consents["purposes"]["analytics"]["state"] == "withdrawn"
    async with services.database.session() as db:
        owners = set(await db.scalars(select(ConsentRecord.user_id)))
    assert owners == {uuid.UUID(user_id)}
    # Signed out in this browser, the choice is still known (the banner does not come back).
    client.cookies.clear()
    signed_out = {"Cookie": f"{CONSENT_COOKIE}=-.0"}
    assert (await client.get(URL, headers=signed_out)).json() | {"since": None} == {
        "decided": True,
        "necessary": True,
        "analytics": False,
        "since": None,
        "recorded_for": None,
        "purpose": "analytics",
        "cookie": CONSENT_COOKIE,
    }


async def test_a_no_in_the_banner_stops_anonymous_counting(client, services):
    await client.put(URL, json={"analytics": False})
    hit = await client.post("/api/v1/analytics/hit", json={"page": "/"})
    assert hit.status_code == 204
    from camtel.privacy.models import AnalyticsHit

    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(AnalyticsHit)) == 0


def test_a_malformed_consent_cookie_is_no_choice():
    for value in (None, "", "x.1", "-.2", f"{'A' * 32}.1", f"{'a' * 31}.1", "-", f"{'a' * 32}"):
        assert read_consent_cookie(value) == (None, None), value
    assert read_consent_cookie(f"{'0' * 32}.0") == ("0" * 32, False)


async def test_no_api_route_edits_or_deletes_visitor_records(client, services):
    await client.put(URL, json={"analytics": True})
    app = build_api(services)
    for path, methods in _routes(app):
        if "consent" in path or "policy-acceptance" in path or "/collection/" in path:
            allowed = {"GET", "HEAD", "POST"} | ({"PUT"} if path.endswith(URL) else set())
            assert methods <= allowed, (path, methods)
    for method in ("PATCH", "DELETE"):
        answer = await client.request(method, URL, json={"analytics": False})
        assert answer.status_code == 405, (method, answer.status_code)
    async with services.database.session() as db:
        rows = list(await db.scalars(select(ConsentRecord)))
    assert [(r.outcome, r.user_id) for r in rows] == [("given", None)]


async def test_the_sweeper_forgets_old_visitor_choices_and_keeps_accounts(client, services):
    """A visitor's cookie choice is kept 395 days (the append-only trigger lets the sweeper
    remove it then, by the database's own clock); an account's consent stays as long as the
    account."""
    from datetime import UTC, datetime, timedelta

    from camtel.privacy.retention import sweep

    await client.put(URL, json={"analytics": True})
    client.cookies.clear()
    headers, _ = await sign_up(client, services, "keeps-consent@example.com")
    await client.post("/api/v1/me/consents/analytics/give", headers=headers)
    now = datetime.now(UTC)
    async with services.database.session() as db:
        db.add(
            ConsentRecord(
                visitor_id="old-visitor",
                purpose="analytics",
                outcome="given",
                time=now - timedelta(days=400),
                channel="web",
            )
        )
        await db.commit()
    async with services.database.session() as db:
        deleted = await sweep(db, now=now)
        await db.commit()
    assert deleted["consent_records"] == 1
    async with services.database.session() as db:
        left = list(await db.scalars(select(ConsentRecord)))
    assert sorted((r.visitor_id is None, r.outcome) for r in left) == [
        (False, "given"),
        (True, "given"),
    ]
    assert "old-visitor" not in {r.visitor_id for r in left}
