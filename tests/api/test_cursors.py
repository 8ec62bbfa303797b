"""Page cursors: the ones camtel makes lead to the next page; anything else answers 422, never
500, on every list ordered by time (positions, events, media, access log) and by id."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

from camtel.devices.models import Position
from camtel.events.models import Event
from helpers.accounts import PASSWORD, sign_up

SOME_ID = "01900000-0000-7000-8000-000000000000"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(value: object) -> str:
    return _b64(json.dumps(value).encode())


CRAFTED = [
    _cursor(["2026-05-01T08:00:00", SOME_ID]),  # a time without offset
    _cursor(["2026-05-01", SOME_ID]),  # a date: no offset either
    _cursor(["0001-01-01T00:00:00+05:00", SOME_ID]),  # before year 1 once in UTC
    _cursor(["9999-12-31T23:59:59-05:00", SOME_ID]),  # after 9999 once in UTC
    _cursor(["yesterday", SOME_ID]),
    _cursor(["2026-05-01T08:00:00+00:00", "not-an-id"]),
    _cursor(["2026-05-01T08:00:00+00:00"]),  # too short
    _cursor(["2026-05-01T08:00:00+00:00", SOME_ID, "more"]),  # too long
    _cursor([]),
    _cursor([1777622400, SOME_ID]),  # wrong types
    _cursor(["2026-05-01T08:00:00+00:00", 12345]),
    _cursor(["2026-05-01T08:00:00+00:00", {"id": SOME_ID}]),
    _cursor([None, None]),
    _cursor({"time": "2026-05-01T08:00:00+00:00", "id": SOME_ID}),
    _cursor("2026-05-01T08:00:00+00:00"),
    _cursor(7),
    _b64(b"[" * 150 + b"]" * 150),  # nested deeper than any sort key
    _cursor(["2026-05-01T08:00:00+00:00", SOME_ID]) + "==",  # padding camtel leaves off
    " " + _cursor(["2026-05-01T08:00:00+00:00", SOME_ID]),
    _b64(b'["2026-05-01T08:00:00+00:00",  "' + SOME_ID.encode() + b'"]'),  # other spacing
    _b64(b"\xff\xfe\x00 not json, not even utf-8"),  # valid base64 of garbage
    _b64(b"hello world"),
    "%%%",
    "not base64 at all!",
    "a",
    "",
]


async def _follow(client, url, headers, params):  # type: ignore[no-untyped-def]
    """The first page of one item and the page its Link leads to."""
    first = await client.get(url, headers=headers, params={**params, "limit": 1})
    assert first.status_code == 200, first.text
    assert len(first.json()) == 1 and "next" in first.links, (url, first.headers)
    second = await client.get(first.links["next"]["url"], headers=headers)
    assert second.status_code == 200, second.text
    assert len(second.json()) == 1 and second.json() != first.json()


async def _refuses_crafted(client, url, headers, params, cursors):  # type: ignore[no-untyped-def]
    for cursor in cursors:
        answer = await client.get(url, headers=headers, params={**params, "cursor": cursor})
        assert answer.status_code == 422, (url, cursor, answer.status_code, answer.text)
        assert answer.json().get("field") == "cursor", (cursor, answer.text)


async def test_lists_by_time_follow_their_own_cursors_and_refuse_others(client, services):
    headers, _ = await sign_up(client, services, "cursors@example.com")
    again = await client.post(
        "/api/v1/auth/token", json={"email": "cursors@example.com", "password": PASSWORD}
    )
    assert again.status_code == 200  # a second sign-in: two access-log entries
    device = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van", "unique_id": "77001", "protocol": "osmand"},
    )
    assert device.status_code == 201, device.text
    device_id = uuid.UUID(device.json()["id"])
    organization_id = uuid.UUID(device.json()["organization_id"])
    now = datetime.now(UTC)
    async with services.database.session() as db:
        for n in range(2):
            time = now - timedelta(minutes=n + 1)
            db.add(
                Position(
                    device_id=device_id,
                    time=time,
                    server_time=time,
                    latitude=52.5,
                    longitude=13.4 + n / 1000,
                    attributes={},
                )
            )
            db.add(
                Event(
                    organization_id=organization_id,
                    device_id=device_id,
                    type="alarm",
                    time=time,
                    cause=f"alarm:{n}",
                    attributes={},
                    created_at=now,
                )
            )
        await db.commit()
    for name in ("a.bin", "b.bin"):
        made = await client.post(
            "/api/v1/media",
            headers=headers,
            files={"file": (name, os.urandom(1000), "application/octet-stream")},
        )
        assert made.status_code == 201, made.text

    lists = [
        (f"/api/v1/devices/{device_id}/positions", {}),
        ("/api/v1/events", {}),
        ("/api/v1/media", {}),
        ("/api/v1/me/access-log", {}),
    ]
    for url, params in lists:
        await _follow(client, url, headers, params)
        await _refuses_crafted(client, url, headers, params, CRAFTED)


async def test_lists_by_id_refuse_cursors_they_did_not_make(client, services):
    headers, _ = await sign_up(client, services, "id-cursors@example.com")
    for name in ("Van 1", "Van 2"):
        made = await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": name, "unique_id": name[-1] + "7700", "protocol": "osmand"},
        )
        assert made.status_code == 201, made.text
    await _follow(client, "/api/v1/devices", headers, {})
    by_id = [
        _cursor([SOME_ID, SOME_ID]),
        _cursor(["2026-05-01T08:00:00+00:00", SOME_ID]),  # a time-ordered list's cursor
        _cursor([12345]),
        _cursor(["not-an-id"]),
        _cursor({"id": SOME_ID}),
        *CRAFTED,
    ]
    for url in ("/api/v1/devices", "/api/v1/notifications", "/api/v1/geofences"):
        await _refuses_crafted(client, url, headers, {}, by_id)
