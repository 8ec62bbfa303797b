"""Changing one's email address (P19): confirmed from the new mailbox, told to the old one."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from camtel.accounts.email_change import new_address
from camtel.accounts.models import EmailToken
from camtel.accounts.tokens import token_hash
from camtel.errors import Invalid
from camtel.mail.models import OutboxMail
from helpers.accounts import PASSWORD, latest_token, sign_up

CHANGE = "/api/v1/me/email"
CONFIRM = "/api/v1/auth/email-change/confirm"
TOKEN = "/api/v1/auth/token"


async def mails_to(services, address: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        rows = await db.scalars(
            select(OutboxMail)
            .where(OutboxMail.to_address == address)
            .order_by(OutboxMail.created_at, OutboxMail.id)
        )
        return list(rows)


async def bearer(client, email: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    answer = await client.post(TOKEN, json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_new_address_is_normalised_and_must_differ():
    assert new_address("ana@example.com", "  Ana.New@EXAMPLE.com ") == "ana.new@example.com"
    for bad in ["not-an-email", "ana@", "", "ANA@example.com"]:
        with pytest.raises(Invalid):
            new_address("ana@example.com", bad)


async def test_change_is_confirmed_from_the_new_mailbox(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    first, user_id = await sign_up(client, services, "ana@example.com")
    second = await bearer(client, "ana@example.com")
    before = len(await mails_to(services, "ana@example.com"))

    asked = await client.post(
        CHANGE, headers=first, json={"new_email": "Ana.New@Example.COM", "password": PASSWORD}
    )
    assert asked.status_code == 202, asked.text
    token = await latest_token(services, "ana.new@example.com")
    notice = (await mails_to(services, "ana@example.com"))[before:]
    assert len(notice) == 1 and "change its email address" in notice[0].body
    assert token not in notice[0].body and "token" not in notice[0].body
    me = (await client.get("/api/v1/me", headers=first)).json()
    assert me["email"] == "ana@example.com", "nothing changes before the link is opened"

    done = await client.get(CONFIRM, params={"token": token})
    assert done.status_code == 200, done.text
    assert done.json() == {"id": user_id, "email": "ana.new@example.com", "email_verified": True}
    for headers in (first, second):
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    old_login = await client.post(TOKEN, json={"email": "ana@example.com", "password": PASSWORD})
    assert old_login.status_code == 401
    fresh = await bearer(client, "Ana.New@example.com")
    me = (await client.get("/api/v1/me", headers=fresh)).json()
    assert me["email"] == "ana.new@example.com" and me["email_verified"] is True
    final = (await mails_to(services, "ana@example.com"))[-1]
    assert final.subject == "Your camtel email address was changed"
    assert token not in final.body

    reused = await client.post(CONFIRM, json={"token": token})
    assert reused.status_code == 422
    assert reused.json()["detail"] == "this link is invalid, used or expired"
    for record in caplog.records:
        if not record.name.startswith("camtel"):
            continue  # the test's own HTTP client logs the URLs it calls
        line = f"{record.getMessage()} {record.__dict__}"
        for secret in ("ana@example.com", "ana.new@example.com", token, token_hash(token)):
            assert secret not in line, record


async def test_opening_the_link_signed_in_keeps_that_session(client, services):
    here, _ = await sign_up(client, services, "keep@example.com")
    elsewhere = await bearer(client, "keep@example.com")
    await client.post(
        CHANGE, headers=here, json={"new_email": "kept@example.com", "password": PASSWORD}
    )
    token = await latest_token(services, "kept@example.com")
    done = await client.post(CONFIRM, headers=here, json={"token": token})
    assert done.status_code == 200, done.text
    assert (await client.get("/api/v1/me", headers=here)).json()["email"] == "kept@example.com"
    assert (await client.get("/api/v1/me", headers=elsewhere)).status_code == 401


async def test_refusals(client, services):
    headers, _ = await sign_up(client, services, "bea@example.com")
    before = await mails_to(services, "bea@example.com")
    cases = [
        ({"new_email": "bea2@example.com", "password": "not my password"}, 401),
        ({"new_email": "not-an-email", "password": PASSWORD}, 422),
        ({"new_email": "BEA@example.com", "password": PASSWORD}, 422),
        ({"new_email": "bea2@example.com"}, 422),
    ]
    for body, status in cases:
        answer = await client.post(CHANGE, headers=headers, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await mails_to(services, "bea2@example.com") == []
    assert len(await mails_to(services, "bea@example.com")) == len(before)
    anonymous = await client.post(CHANGE, json={"new_email": "x@example.com", "password": "x"})
    assert anonymous.status_code == 401
    assert (await client.post(CONFIRM, json={"token": "garbled"})).status_code == 422


async def test_wrong_passwords_are_rate_limited_like_sign_in(client, services):
    headers, _ = await sign_up(client, services, "rl-change@example.com")
    wrong = {"new_email": "rl-new@example.com", "password": "a wrong guess"}
    for _ in range(services.settings.login_rate_per_account):
        assert (await client.post(CHANGE, headers=headers, json=wrong)).status_code == 401
    blocked = await client.post(CHANGE, headers=headers, json=wrong | {"password": PASSWORD})
    assert blocked.status_code == 429
    signing_in = await client.post(
        TOKEN, json={"email": "rl-change@example.com", "password": PASSWORD}
    )
    assert signing_in.status_code == 429, "the guesses count against sign-in as well"


async def test_an_address_in_use_is_neither_revealed_nor_taken(client, services):
    cat, _ = await sign_up(client, services, "cat@example.com")
    await sign_up(client, services, "dan@example.com")
    dans_mail = len(await mails_to(services, "dan@example.com"))
    cats_mail = len(await mails_to(services, "cat@example.com"))

    taken = await client.post(
        CHANGE, headers=cat, json={"new_email": "DAN@example.com", "password": PASSWORD}
    )
    free = await client.post(
        CHANGE, headers=cat, json={"new_email": "cat2@example.com", "password": PASSWORD}
    )
    assert taken.status_code == free.status_code == 202
    assert taken.json() == free.json(), "no hint whether the address has an account"
    assert len(await mails_to(services, "dan@example.com")) == dans_mail, "no link to take it"
    assert len(await mails_to(services, "cat@example.com")) == cats_mail + 2, "notice each time"
    async with services.database.session() as db:
        pending = await db.scalars(
            select(EmailToken.new_email).where(EmailToken.purpose == "change")
        )
        assert list(pending) == ["cat2@example.com"]


async def test_an_address_taken_meanwhile_is_a_conflict_and_nothing_changes(client, services):
    eve, _ = await sign_up(client, services, "eve@example.com")
    await client.post(
        CHANGE, headers=eve, json={"new_email": "fay@example.com", "password": PASSWORD}
    )
    token = await latest_token(services, "fay@example.com")
    await sign_up(client, services, "fay@example.com")

    clash = await client.post(CONFIRM, json={"token": token})
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/me", headers=eve)).json()["email"] == "eve@example.com"
    await bearer(client, "eve@example.com")
    await bearer(client, "fay@example.com")


async def test_a_newer_request_or_the_clock_ends_a_link(client, services):
    gil, _ = await sign_up(client, services, "gil@example.com")
    body = {"new_email": "gil-a@example.com", "password": PASSWORD}
    await client.post(CHANGE, headers=gil, json=body)
    older = await latest_token(services, "gil-a@example.com")
    await client.post(CHANGE, headers=gil, json=body | {"new_email": "gil-b@example.com"})
    newer = await latest_token(services, "gil-b@example.com")
    assert (await client.get(CONFIRM, params={"token": older})).status_code == 422

    real_clock = services.clock
    hours = services.settings.email_token_ttl_hours
    services.clock = lambda: real_clock() + timedelta(hours=hours, seconds=1)
    try:
        expired = await client.get(CONFIRM, params={"token": newer})
    finally:
        services.clock = real_clock
    assert expired.status_code == 422
    assert (await client.get("/api/v1/me", headers=gil)).json()["email"] == "gil@example.com"


async def test_the_export_holds_no_link_and_no_token_hash(client, services):
    headers, _ = await sign_up(client, services, "hal@example.com")
    await client.post(
        CHANGE, headers=headers, json={"new_email": "hal2@example.com", "password": PASSWORD}
    )
    token = await latest_token(services, "hal2@example.com")
    answer = await client.get("/api/v1/me/export", headers=headers)
    assert answer.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert token_hash(token).encode() not in everything
    assert token.encode() not in everything, "a copy of the export must not confirm the change"
    outbox = json.loads(archive.read("data/outbox_mail.json"))
    [confirmation] = [m for m in outbox if m["to_address"] == "hal2@example.com"]
    assert "<one-time link removed>" in confirmation["body"], "shown, without its link"
    assert (await client.get(CONFIRM, params={"token": token})).status_code == 200
