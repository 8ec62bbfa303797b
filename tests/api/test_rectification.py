"""Rectification (P19): a person corrects their name and phone with `PATCH /api/v1/me`; the
account, its export and nothing else change, a malformed phone changes nothing, and the logs
say which fields changed but never their values."""

from __future__ import annotations

import io
import json
import logging
import zipfile

from helpers.accounts import sign_up

OLD_PHONE = "+4915123456789"  # what sign_up registers
NEW_PHONE, NEW_PHONE_TYPED = "+4915198765432", "+49 151 9876 5432"


async def _exported_user(client, headers) -> tuple[dict, bytes]:  # type: ignore[no-untyped-def]
    """The person's row in their export, and the whole export's bytes."""
    answer = await client.get("/api/v1/me/export", headers=headers)
    assert answer.status_code == 200, answer.text
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    [user] = json.loads(archive.read("data/users.json"))
    return user, b"".join(archive.read(name) for name in archive.namelist())


async def test_a_person_corrects_their_name_and_phone(client, services):
    headers, _ = await sign_up(client, services, "rectify@example.com")
    answer = await client.patch(
        "/api/v1/me", headers=headers, json={"display_name": "Ana Lima", "phone": NEW_PHONE_TYPED}
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["display_name"], answer.json()["phone"]) == ("Ana Lima", NEW_PHONE)

    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["display_name"], me["phone"]) == ("Ana Lima", NEW_PHONE), "stored, in E.164"
    user, everything = await _exported_user(client, headers)
    assert (user["display_name"], user["phone"]) == ("Ana Lima", NEW_PHONE)
    assert OLD_PHONE.encode() not in everything, "the wrong number is kept nowhere"


async def test_a_malformed_phone_is_a_clear_422_and_changes_nothing(client, services):
    headers, _ = await sign_up(client, services, "rectify-bad@example.com")
    assert (
        await client.patch("/api/v1/me", headers=headers, json={"display_name": "Ana Lima"})
    ).status_code == 200
    before = (await client.get("/api/v1/me", headers=headers)).json()
    for phone, why in (("0151 12345678", "international form"), ("+49 151", "not a valid number")):
        answer = await client.patch(
            "/api/v1/me", headers=headers, json={"display_name": "Someone Else", "phone": phone}
        )
        assert answer.status_code == 422, (phone, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["type"].endswith("/invalid") and problem["field"] == "phone"
        assert why in problem["detail"], problem
    assert (await client.get("/api/v1/me", headers=headers)).json() == before, "not even the name"
    user, _ = await _exported_user(client, headers)
    assert (user["display_name"], user["phone"]) == ("Ana Lima", OLD_PHONE)


async def test_the_correction_is_logged_without_the_values(client, services, caplog):
    headers, user_id = await sign_up(client, services, "rectify-log@example.com")
    caplog.set_level(logging.DEBUG)
    answer = await client.patch(
        "/api/v1/me", headers=headers, json={"display_name": "Ana Lima", "phone": NEW_PHONE_TYPED}
    )
    assert answer.status_code == 200, answer.text

    [noted] = [r for r in caplog.records if r.getMessage() == "profile corrected"]
    assert (noted.user, noted.fields) == (user_id, "display_name,phone")
    for record in caplog.records:
        # The message and every structured field the record carries, as a formatter sees them.
        logged = record.getMessage() + repr(vars(record))
        for value in (NEW_PHONE, NEW_PHONE_TYPED, "15198765432", OLD_PHONE, "Ana Lima"):
            assert value not in logged, (value, record.name, logged)
