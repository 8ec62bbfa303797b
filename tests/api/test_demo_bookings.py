"""Demo bookings over the API, on both engines: free slots of the configured availability, a
booking with its calendar invitation, the same slot refused (409) even when two race for it,
times in the past or outside availability refused (422), cancelling by the mailed link."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from camtel.mail.models import OutboxMail
from camtel.sales import bookings
from camtel.sales.models import DemoBooking
from helpers.accounts import sign_up
from helpers.privacy import make_operator

#: A Monday, 07:00 in Berlin: the day's demos from 09:00 (08:00 UTC) on are all free.
MONDAY = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def monday(services):  # type: ignore[no-untyped-def]
    services.clock = lambda: MONDAY
    services.settings = services.settings.model_copy(update={"sales_email": "sales@example.com"})


def unfold(text: str) -> dict[str, str]:
    lines = text.replace("\r\n ", "").split("\r\n")
    return {
        line.split(":", 1)[0].split(";")[0]: line.split(":", 1)[1] for line in lines if ":" in line
    }


def guest(start: str, email: str = "guest@example.com", **extra: str) -> dict[str, str]:
    return {"start": start, "name": "Gus Guest", "email": email, "time_zone": "America/New_York",
            **extra}  # fmt: skip


async def test_slots_follow_the_availability(client):
    answer = await client.get("/api/v1/demo-slots")
    assert answer.status_code == 200
    got = answer.json()
    assert got["time_zone"] == "Europe/Berlin" and got["slot_minutes"] == 30
    starts = [datetime.fromisoformat(s["start"]) for s in got["slots"]]
    assert starts[0] == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert all(s.weekday() < 5 for s in starts) and starts == sorted(starts)
    assert max(starts) < MONDAY + timedelta(days=14)
    end = datetime.fromisoformat(got["slots"][0]["end"])
    assert end - starts[0] == timedelta(minutes=30)


async def test_a_booking_is_confirmed_with_an_invitation_and_the_slot_is_gone(client, services):
    start = "2026-12-07T09:30:00+01:00"  # as a Berlin visitor's page sends it
    answer = await client.post("/api/v1/demo-bookings", json=guest(start, message="Fleet of 40"))
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    assert booked["start"] == "2026-12-07T08:30:00+00:00"
    assert booked["end"] == "2026-12-07T09:00:00+00:00"

    slots = (await client.get("/api/v1/demo-slots")).json()["slots"]
    assert booked["start"] not in [s["start"] for s in slots]

    again = await client.post("/api/v1/demo-bookings", json=guest(start, "other@example.com"))
    assert again.status_code == 409
    assert again.json()["type"].endswith("/slot-taken") and again.json()["field"] == "start"

    async with services.database.session() as db:
        mails = {m.to_address: m for m in await db.scalars(select(OutboxMail))}
    mail = mails["guest@example.com"]
    assert "03:30" in mail.body and "America/New_York" in mail.body  # the guest's own time
    [invite] = mail.attachments
    assert invite["filename"] == "invite.ics"
    assert invite["content_type"] == "text/calendar; method=REQUEST"
    event = unfold(invite["content"])
    assert event["METHOD"] == "REQUEST" and event["DTSTART"] == "20261207T083000Z"
    assert event["DTEND"] == "20261207T090000Z" and event["UID"].startswith(
        f"demo-{booked['reference']}@"
    )
    assert event["ORGANIZER"] == "mailto:sales@example.com"
    assert event["ATTENDEE"] == "mailto:guest@example.com"
    assert "Fleet of 40" in mails["sales@example.com"].body


async def test_two_visitors_racing_for_one_slot_get_one_booking(client, services):
    start = "2026-12-08T10:00:00+00:00"
    answers = await asyncio.gather(
        *(client.post("/api/v1/demo-bookings", json=guest(start, f"g{n}@example.com"))
          for n in range(4))
    )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(DemoBooking)) == 1


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-12-07T05:00:00+00:00", "past"),  # before now
        ("2026-12-07T06:30:00+00:00", "past"),  # 07:30 in Berlin: within the notice
        ("2026-12-07T08:10:00+00:00", "not_offered"),  # not on the half hour
        ("2026-12-12T10:00:00+00:00", "not_offered"),  # a Saturday
        ("2026-12-07T11:00:00+00:00", "not_offered"),  # 12:00: lunch is 12-13 in Berlin
        ("2027-02-01T10:00:00+00:00", "not_offered"),  # beyond 14 days
    ],
)
async def test_times_in_the_past_or_outside_availability_are_refused(client, start, code):
    answer = await client.post("/api/v1/demo-bookings", json=guest(start))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "start" and answer.json()["code"] == code


async def test_bad_details_are_refused_by_field(client):
    start = "2026-12-07T08:00:00+00:00"
    for body, field in (
        ({**guest(start), "email": "nope"}, "email"),
        ({**guest(start), "name": " "}, "name"),
        ({**guest(start), "start": "tomorrow"}, "start"),
        ({**guest(start), "start": "2026-12-07T08:00:00"}, "start"),  # no offset
        ({**guest(start), "message": "x" * 2001}, "message"),
        ({**guest(start), "name": "A\x00B"}, "name"),
    ):
        answer = await client.post("/api/v1/demo-bookings", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["errors"][0]["location"][-1] == field
    # An unknown zone is not refused: the mail names UTC then.
    answer = await client.post("/api/v1/demo-bookings", json=guest(start, time_zone="Mars/Base"))
    assert answer.status_code == 201 and answer.json()["time_zone"] == "UTC"


async def test_one_address_holds_at_most_two_upcoming_demos(client):
    for start in ("2026-12-07T08:00:00+00:00", "2026-12-07T08:30:00+00:00"):
        assert (await client.post("/api/v1/demo-bookings", json=guest(start))).status_code == 201
    third = await client.post("/api/v1/demo-bookings", json=guest("2026-12-07T09:00:00+00:00"))
    assert third.status_code == 422 and third.json()["field"] == "email"


async def test_cancelling_frees_the_slot_and_operators_see_bookings(client, services):
    start = "2026-12-09T13:00:00+00:00"
    assert (await client.post("/api/v1/demo-bookings", json=guest(start))).status_code == 201
    async with services.database.session() as db:
        mail = await db.scalar(
            select(OutboxMail).where(OutboxMail.to_address == "guest@example.com")
        )
    token = mail.body.split("token=", 1)[1].split()[0]

    headers, user_id = await sign_up(client, services, "op@example.com")
    assert (await client.get("/api/v1/sales/demo-bookings", headers=headers)).status_code == 403
    await make_operator(services, user_id)
    listed = await client.get("/api/v1/sales/demo-bookings", headers=headers)
    assert [row["start"] for row in listed.json()] == ["2026-12-09T13:00:00+00:00"]
    sheet = await client.get(
        "/api/v1/sales/demo-bookings", params={"format": "csv"}, headers=headers
    )
    assert sheet.text.splitlines()[0].startswith("id,start,end,name,email")
    assert "guest@example.com" in sheet.text

    async with services.database.session() as db:
        row = await bookings.cancel(
            db, services.mailer, token=token, base_url="https://camtel.example",
            sales_email="sales@example.com", now=MONDAY,
        )  # fmt: skip
        assert row is not None
    async with services.database.session() as db:
        assert await bookings.by_token(db, token) is None
        cancel = await db.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_address == "guest@example.com")
            .order_by(OutboxMail.created_at.desc())
        )
    assert "STATUS:CANCELLED" in cancel.attachments[0]["content"]
    assert "SEQUENCE:1" in cancel.attachments[0]["content"]
    slots = (await client.get("/api/v1/demo-slots")).json()["slots"]
    assert start in [s["start"] for s in slots]
    again = await client.post("/api/v1/demo-bookings", json=guest(start, "new@example.com"))
    assert again.status_code == 201


async def test_a_booking_is_exported_and_erased_with_its_person(client, services):
    headers, user_id = await sign_up(client, services, "guest@example.com")
    start = "2026-12-10T09:00:00+00:00"
    assert (await client.post("/api/v1/demo-bookings", json=guest(start))).status_code == 201
    export = await client.get("/api/v1/me/export", headers=headers)
    rows = json.loads(zipfile.ZipFile(io.BytesIO(export.content)).read("data/demo_bookings.json"))
    assert [(row["user_id"], row["starts_at"][:16]) for row in rows] == [
        (user_id, "2026-12-10T09:00")
    ]
    assert (await client.delete("/api/v1/me", headers=headers)).status_code == 200
    async with services.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(DemoBooking)) == 0
    slots = (await client.get("/api/v1/demo-slots")).json()["slots"]
    assert start in [s["start"] for s in slots], "the erased guest's time is free again"
