"""Registration, verification, sign-in, sign-out, reset and the second factor, end to end."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from helpers.accounts import PASSWORD, latest_token, sign_up

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"


async def test_newcomer_registers_verifies_and_signs_in(client, services):
    answer = await client.post(
        REGISTER,
        json={"email": "Ana@Example.com", "phone": "+49 151 2345 6789", "password": PASSWORD},
    )
    assert answer.status_code == 202
    assert answer.json()["email"] == "ana@example.com"

    early = await client.post(TOKEN, json={"email": "ana@example.com", "password": PASSWORD})
    assert early.status_code == 403
    assert early.json()["code"] == "email_unverified"

    link_token = await latest_token(services, "ana@example.com")
    assert (
        await client.get("/api/v1/auth/verify", params={"token": link_token})
    ).status_code == 200
    again = await client.get("/api/v1/auth/verify", params={"token": link_token})
    assert again.status_code == 422, "a verification link works once"

    login = await client.post(TOKEN, json={"email": "ANA@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["phone"] == "+4915123456789"
    assert me.json()["email_verified"] is True
    assert [o["role"] for o in me.json()["organizations"]] == ["owner"]


async def test_oauth2_form_login(client, services):
    await sign_up(client, services, "form@example.com")
    answer = await client.post(TOKEN, data={"username": "form@example.com", "password": PASSWORD})
    assert answer.status_code == 200
    assert answer.json()["access_token"]


async def test_registering_a_known_address_answers_as_for_a_new_one(client, services, monkeypatch):
    """No hint whether an address has an account: the same status and body, the same
    password hashing; the address's owner is mailed a notice instead of a new account."""
    from camtel.accounts import passwords

    await sign_up(client, services, "dup@example.com")
    hashed = []
    real_hash = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: hashed.append(p) or real_hash(p))
    body = {"phone": "+33612345678", "password": "another private passphrase"}
    known = await client.post(REGISTER, json={"email": "DUP@example.com", **body})
    fresh = await client.post(REGISTER, json={"email": "fresh@example.com", **body})
    assert known.status_code == fresh.status_code == 202, known.text
    assert "id" not in known.json()
    assert known.json() == fresh.json() | {"email": "dup@example.com"}
    assert known.headers["content-type"] == fresh.headers["content-type"]
    assert hashed == [body["password"]] * 2, "the password is hashed either way"

    notice = await _newest_mail(services, "dup@example.com")
    assert "tried to register" in notice.body and "/reset" in notice.body
    assert "token=" not in notice.body, "the notice carries no link that acts on the account"
    assert (await _newest_mail(services, "fresh@example.com")).subject.startswith("Confirm")
    keeps = await client.post(TOKEN, json={"email": "dup@example.com", "password": PASSWORD})
    assert keeps.status_code == 200, "the account and its password are untouched"
    taken = await client.post(
        TOKEN, json={"email": "dup@example.com", "password": body["password"]}
    )
    assert taken.status_code == 401, "registering again set no password"


async def _newest_mail(services, address: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from camtel.mail.models import OutboxMail

    async with services.database.session() as db:
        return await db.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_address == address)
            .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
            .limit(1)
        )


async def test_bad_registrations_are_refused_with_reasons(client):
    cases = {
        "phone": {"email": "p@example.com", "phone": "12345", "password": PASSWORD},
        "email": {"email": "not-an-email", "phone": "+4915123456789", "password": PASSWORD},
        "common": {"email": "c@example.com", "phone": "+4915123456789", "password": "password1"},
        "short": {"email": "s@example.com", "phone": "+4915123456789", "password": "x7#kq"},
        "sequence": {"email": "q@example.com", "phone": "+4915123456789", "password": "abcdefghij"},
    }
    for name, body in cases.items():
        answer = await client.post(REGISTER, json=body)
        assert answer.status_code == 422, (name, answer.text)
        assert answer.json()["detail"], name


async def test_wrong_password_and_unknown_account_look_the_same(client, services):
    await sign_up(client, services, "same@example.com")
    wrong = await client.post(TOKEN, json={"email": "same@example.com", "password": "nope nope"})
    unknown = await client.post(TOKEN, json={"email": "nobody@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_forged_and_expired_tokens_are_refused(client, services):
    headers, _ = await sign_up(client, services, "exp@example.com")
    assert (
        await client.get("/api/v1/me", headers={"Authorization": "Bearer forged"})
    ).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 401
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(hours=services.settings.session_ttl_hours + 1)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    services.clock = real_clock


async def test_logout_and_logout_everywhere(client, services):
    first, _ = await sign_up(client, services, "out@example.com")
    second = {
        "Authorization": "Bearer "
        + (
            await client.post(TOKEN, json={"email": "out@example.com", "password": PASSWORD})
        ).json()["access_token"]
    }
    third = {
        "Authorization": "Bearer "
        + (
            await client.post(TOKEN, json={"email": "out@example.com", "password": PASSWORD})
        ).json()["access_token"]
    }
    assert (await client.post("/api/v1/auth/logout", headers=first)).status_code == 204
    assert (await client.get("/api/v1/me", headers=first)).status_code == 401
    assert (await client.get("/api/v1/me", headers=second)).status_code == 200
    ended = await client.post("/api/v1/auth/logout-all", headers=second)
    assert ended.json()["sessions_ended"] == 2
    assert (await client.get("/api/v1/me", headers=third)).status_code == 401


async def test_password_reset_signs_out_everywhere(client, services):
    headers, _ = await sign_up(client, services, "reset@example.com")
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": "ghost@example.com"})
    asked = await client.post("/api/v1/auth/password-reset", json={"email": "reset@example.com"})
    assert unknown.status_code == asked.status_code == 202
    assert unknown.json() == asked.json(), "no hint whether the account exists"
    token = await latest_token(services, "reset@example.com", marker="Reset token: ")
    weak = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "12345678"}
    )
    assert weak.status_code == 422
    done = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "a brand new passphrase"},
    )
    assert done.status_code == 200
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (
        await client.post(TOKEN, json={"email": "reset@example.com", "password": PASSWORD})
    ).status_code == 401
    assert (
        await client.post(
            TOKEN, json={"email": "reset@example.com", "password": "a brand new passphrase"}
        )
    ).status_code == 200
    reused = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "another new passphrase"},
    )
    assert reused.status_code == 422


async def test_totp_second_factor(client, services):
    headers, _ = await sign_up(client, services, "otp@example.com")
    begun = (await client.post("/api/v1/me/totp", headers=headers)).json()
    assert begun["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(begun["secret"])
    bad = await client.post("/api/v1/me/totp/confirm", headers=headers, json={"code": "000000"})
    assert bad.status_code == 422
    ok = await client.post("/api/v1/me/totp/confirm", headers=headers, json={"code": totp.now()})
    assert ok.status_code == 200
    creds = {"email": "otp@example.com", "password": PASSWORD}
    need = await client.post(TOKEN, json=creds)
    assert need.status_code == 401
    assert need.json()["code"] == "otp_required"
    wrong = await client.post(
        TOKEN, json=creds | {"otp": "123456" if totp.now() != "123456" else "654321"}
    )
    assert wrong.json()["code"] == "otp_invalid"
    assert (await client.post(TOKEN, json=creds | {"otp": totp.now()})).status_code == 200


async def test_web_session_cookie_is_secure_and_needs_csrf(client, services):
    await sign_up(client, services, "web@example.com")
    client.cookies.clear()
    answer = await client.post(
        "/api/v1/auth/session", json={"email": "web@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("camtel_session="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
    csrf = answer.json()["csrf_token"]
    assert (await client.get("/api/v1/me")).status_code == 200, "cookie signs in for reading"
    body = {"name": "Van", "unique_id": "013912345678", "protocol": "jt808"}
    refused = await client.post("/api/v1/devices", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf"
    forged = await client.post("/api/v1/devices", json=body, headers={"X-CSRF-Token": "guess"})
    assert forged.status_code == 403
    made = await client.post("/api/v1/devices", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    devices = (await client.get("/api/v1/devices")).json()
    assert [d["unique_id"] for d in devices] == ["013912345678"], "the refused posts wrote nothing"


async def test_sign_in_is_rate_limited_per_account_and_address(client, services):
    await sign_up(client, services, "rl@example.com")
    limit = services.settings.login_rate_per_account
    for _ in range(limit):
        answer = await client.post(TOKEN, json={"email": "rl@example.com", "password": "wrong!!!"})
        assert answer.status_code == 401
    blocked = await client.post(TOKEN, json={"email": "rl@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    for _ in range(services.settings.login_rate_per_address):
        if (
            await client.post(TOKEN, json={"email": "x@example.com", "password": "y"})
        ).status_code == 429:
            break
    else:
        raise AssertionError("the address limit never engaged")
    refused = await client.post(
        REGISTER,
        json={"email": "late@example.com", "phone": "+4915123456789", "password": PASSWORD},
    )
    assert refused.status_code == 429


async def test_minor_is_flagged(client, services):
    today = services.clock().date()
    born = today.replace(year=today.year - 15)
    answer = await client.post(
        REGISTER,
        json={
            "email": "kid@example.com",
            "phone": "+4915123456789",
            "password": PASSWORD,
            "date_of_birth": born.isoformat(),
        },
    )
    assert answer.status_code == 202
    assert answer.json()["is_minor"] is True
    future = await client.post(
        REGISTER,
        json={
            "email": "future@example.com",
            "phone": "+4915123456789",
            "password": PASSWORD,
            "date_of_birth": today.replace(year=today.year + 1).isoformat(),
        },
    )
    assert future.status_code == 422
