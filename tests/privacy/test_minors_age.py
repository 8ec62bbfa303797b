"""P20: how an account's age is known. Registration takes a birth date or `adult: true`; an API
registration with neither stays `unstated` (the contract) and counts as an adult's until its
owner states their age once, after which a minor's collection waits for a guardian."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from camtel.accounts.age import AgeBasis, stated_basis
from camtel.accounts.models import User
from camtel.errors import Invalid
from camtel.mail.models import OutboxMail
from camtel.privacy import minors
from helpers.accounts import PASSWORD, latest_token, sign_up

REGISTER = "/api/v1/auth/register"
TODAY = date(2026, 12, 7)
NONE_ALLOWED = {"location": False, "video": False, "diagnostics": False}
ALL_ALLOWED = {"location": True, "video": True, "diagnostics": True}


def years_ago(years: int, today: date) -> str:
    return today.replace(year=today.year - years).isoformat()


# --- the decision, without I/O -------------------------------------------------------------


def test_what_a_statement_establishes() -> None:
    teen, grown = date(2012, 3, 1), date(1980, 3, 1)
    assert stated_basis(date_of_birth=teen, adult=None, today=TODAY) == AgeBasis.BIRTH_DATE
    assert stated_basis(date_of_birth=grown, adult=True, today=TODAY) == AgeBasis.BIRTH_DATE
    assert stated_basis(date_of_birth=teen, adult=False, today=TODAY) == AgeBasis.BIRTH_DATE
    assert stated_basis(date_of_birth=None, adult=True, today=TODAY) == AgeBasis.CONFIRMED_ADULT
    assert stated_basis(date_of_birth=None, adult=None, today=TODAY) == AgeBasis.UNSTATED
    # The 18th birthday itself is an adult's.
    eighteen = date(2008, 12, 7)
    assert stated_basis(date_of_birth=eighteen, adult=True, today=TODAY) == AgeBasis.BIRTH_DATE


@pytest.mark.parametrize(
    ("born", "adult", "required", "field", "code"),
    [
        (date(2012, 3, 1), True, False, "adult", "age_contradiction"),
        (date(2008, 12, 8), True, False, "adult", "age_contradiction"),  # 18 tomorrow
        (None, False, False, "date_of_birth", "age_required"),  # what the web form sends
        (None, None, True, "date_of_birth", "age_required"),  # the later statement
        (date(2027, 1, 1), None, False, "date_of_birth", None),
        (date(1899, 12, 31), True, False, "date_of_birth", None),
    ],
)
def test_statements_that_are_refused(born, adult, required, field, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as refused:
        stated_basis(date_of_birth=born, adult=adult, today=TODAY, required=required)
    assert refused.value.extra["field"] == field
    assert refused.value.extra.get("code") == code


# --- registration through the API ----------------------------------------------------------


async def _user(services, email: str) -> User:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        user = await db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


async def test_a_birth_date_under_18_turns_the_gate_on_until_a_guardian_consents(client, services):
    today = services.clock().date()
    headers, minor_id = await sign_up(
        client, services, "teen@example.com", date_of_birth=years_ago(15, today)
    )
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["age_basis"], me["is_minor"]) == ("birth_date", True)
    assert me["age_stated_at"] is not None
    async with services.database.session() as db:
        assert not await minors.collection_allowed(db, uuid.UUID(minor_id), minors.Kind.LOCATION)
    status = (await client.get("/api/v1/me/guardian", headers=headers)).json()
    assert status["collection_allowed"] == NONE_ALLOWED

    invited = await client.post(
        "/api/v1/me/guardian", headers=headers, json={"email": "parent@example.com"}
    )
    assert invited.status_code == 202, invited.text
    token = await latest_token(services, "parent@example.com")
    parent, _ = await sign_up(client, services, "parent@example.com", adult=True)
    confirmed = await client.post(
        "/api/v1/guardians/confirm", headers=parent, json={"token": token}
    )
    assert confirmed.status_code == 200, confirmed.text
    given = await client.post(
        f"/api/v1/guardians/wards/{minor_id}/collection/location",
        headers=parent,
        json={"outcome": "given"},
    )
    assert given.status_code == 201, given.text
    async with services.database.session() as db:
        assert await minors.collection_allowed(db, uuid.UUID(minor_id), minors.Kind.LOCATION)
        assert not await minors.collection_allowed(db, uuid.UUID(minor_id), minors.Kind.VIDEO)


async def test_confirming_adulthood_registers_an_adult(client, services):
    headers, _ = await sign_up(client, services, "grown@example.com", adult=True)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["age_basis"], me["is_minor"], me["date_of_birth"]) == (
        "confirmed_adult",
        False,
        None,
    )
    status = (await client.get("/api/v1/me/guardian", headers=headers)).json()
    assert status["collection_allowed"] == ALL_ALLOWED


async def test_a_contradicting_statement_is_refused_and_creates_nothing(client, services):
    today = services.clock().date()
    answer = await client.post(
        REGISTER,
        json={
            "email": "liar@example.com",
            "phone": "+4915123456789",
            "password": PASSWORD,
            "date_of_birth": years_ago(16, today),
            "adult": True,
        },
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert (problem["field"], problem["code"]) == ("adult", "age_contradiction")
    assert "18" in problem["detail"]
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 0
        assert await db.scalar(select(func.count()).select_from(OutboxMail)) == 0


async def test_the_web_forms_post_without_a_statement_is_refused(client, services):
    """The registration page always sends `adult`; false with no birth date is refused, as
    the page itself refuses it (tests/web/test_register_age.py)."""
    answer = await client.post(
        REGISTER,
        json={
            "email": "blank@example.com",
            "phone": "+4915123456789",
            "password": PASSWORD,
            "adult": False,
        },
    )
    assert answer.status_code == 422, answer.text
    assert (answer.json()["field"], answer.json()["code"]) == ("date_of_birth", "age_required")
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_an_api_registration_without_a_statement_still_works_unstated(client, services):
    """CONTRACT.md: email, phone and password alone answer 202 and the account works."""
    headers, user_id = await sign_up(client, services, "script@example.com")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["age_basis"], me["age_stated_at"], me["is_minor"]) == ("unstated", None, False)
    made = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van", "unique_id": "4711", "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    async with services.database.session() as db:
        assert await minors.collection_allowed(db, uuid.UUID(user_id), minors.Kind.LOCATION)


# --- stating the age later -------------------------------------------------------------------


async def test_stating_a_birth_date_under_18_later_gates_collection_from_then(client, services):
    today = services.clock().date()
    headers, user_id = await sign_up(client, services, "later@example.com")
    await client.post("/api/v1/me/consents/diagnostics/give", headers=headers)
    report = {"log": "crash", "mac": "3C:22:FB:9A:10:7E"}
    before = await client.post("/api/v1/diagnostics", headers=headers, json=report)
    assert before.status_code == 202, "unstated counts as an adult"
    made = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Moped", "unique_id": "4712", "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    told: list[tuple[str, str]] = []
    services.device_listeners.append(lambda protocol, unique_id: told.append((protocol, unique_id)))

    empty = await client.post("/api/v1/me/age", headers=headers, json={})
    assert empty.status_code == 422 and empty.json()["code"] == "age_required"
    stated = await client.post(
        "/api/v1/me/age", headers=headers, json={"date_of_birth": years_ago(14, today)}
    )
    assert stated.status_code == 200, stated.text
    assert stated.json() == {
        "age_basis": "birth_date",
        "is_minor": True,
        "collection_allowed": NONE_ALLOWED,
    }
    assert told == [("osmand", "4712")], "the gateways forget what they cached of its devices"
    after = await client.post("/api/v1/diagnostics", headers=headers, json=report)
    assert after.status_code == 403 and after.json()["code"] == "consent_required"
    async with services.database.session() as db:
        assert not await minors.collection_allowed(db, uuid.UUID(user_id), minors.Kind.VIDEO)

    again = await client.post("/api/v1/me/age", headers=headers, json={"adult": True})
    assert again.status_code == 409 and again.json()["code"] == "age_stated"
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert (me["age_basis"], me["is_minor"]) == ("birth_date", True), "stated once"


async def test_confirming_adulthood_later_and_the_export_holds_the_statement(client, services):
    headers, _ = await sign_up(client, services, "export@example.com")
    stated = await client.post("/api/v1/me/age", headers=headers, json={"adult": True})
    assert stated.status_code == 200, stated.text
    assert stated.json()["age_basis"] == "confirmed_adult"
    exported = await client.get("/api/v1/me/export", headers=headers)
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        users = json.loads(archive.read("data/users.json"))
    assert users[0]["age_basis"] == "confirmed_adult"
    assert users[0]["age_stated_at"]
