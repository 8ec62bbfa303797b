"""Before erasure the person's export holds everything camtel keeps about them; after
`DELETE /api/v1/me`, nothing of the person is left: not in any file of the data
directory (database with its WAL and free pages, media objects, keys, the analyzer's work
dir), not in the logs; other people's data is intact and a second erasure is harmless.

The scan looks for the person's email, phone, device unique_id and name, bearer token, the
distinctive coordinates of their positions and events (as text and as stored IEEE doubles,
both byte orders), the first point of their recording's embedded GPS track, and a 64-byte
slice of the recording's plaintext. Before the erasure the same scan must find each of them
(except the plaintext, which is encrypted at rest), so a scan that sees nothing fails."""

from __future__ import annotations

import io
import json
import logging
import struct
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from camtel.accounts.models import User
from camtel.devices.models import Position
from camtel.events.models import Event
from camtel.media.models import Media
from camtel.privacy import erasure
from camtel.privacy.rights_models import PrivacyRequest
from helpers.accounts import PASSWORD, sign_up
from helpers.media import KARMA, media_world, settled, shared_file, upload

EMAIL = "zq.leave-none@example.com"
PHONE = "+4917055501234"
UNIQUE_ID = "357911224466"
NAME = "Mk-Qx7Zr9"
LAT, LON = 48.1371234, 11.5754321
OTHER_EMAIL = "keep-me@example.com"
PROBLEM = "dashcam reboot loop Zq-77-marker"
MAC = "3C:71:BF:0A:11:22"
OTHER_NAME = "Mk-Keep42"


def _doubles(*values: float) -> list[bytes]:
    return [struct.pack(order, v) for v in values for order in ("<d", ">d")]


def _files(data_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def _found(files: dict[Path, bytes], needles: list[bytes]) -> list[str]:
    return [
        f"{path.name}: {needle!r}"
        for path, blob in files.items()
        for needle in needles
        if needle in blob
    ]


_STANDARD = set(vars(logging.makeLogRecord({})))


def _log_text_of(record: logging.LogRecord) -> str:
    """A captured record as text: its message, exception, and any `extra` fields."""
    parts = [record.getMessage(), record.exc_text or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    parts.extend(repr(v) for k, v in vars(record).items() if k not in _STANDARD)
    return "\n".join(parts)


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.text + "\n".join(_log_text_of(r) for r in caplog.records)


async def _device(http, headers, name: str, unique_id: str) -> dict:  # type: ignore[no-untyped-def]
    made = await http.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": name, "unique_id": unique_id, "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    return made.json()


async def _track(services, device: dict, lat: float, lon: float) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    device_id = uuid.UUID(device["id"])
    async with services.database.session() as db:
        for n in range(3):
            db.add(
                Position(
                    device_id=device_id,
                    time=now - timedelta(minutes=n),
                    server_time=now,
                    latitude=lat,
                    longitude=lon,
                    altitude=512.0,
                    attributes={},
                )
            )
        db.add(
            Event(
                organization_id=uuid.UUID(device["organization_id"]),
                device_id=device_id,
                type="geofence_enter",
                time=now,
                urgent=False,
                cause=f"test:{device_id}",
                latitude=lat,
                longitude=lon,
                attributes={},
                created_at=now,
            )
        )


async def _export_holds_everything(http, headers, device, media_id, recording) -> None:  # type: ignore[no-untyped-def]
    answer = await http.get("/api/v1/me/export", headers=headers)
    assert answer.status_code == 200, answer.text
    archive = zipfile.ZipFile(io.BytesIO(answer.content))

    def rows(table: str) -> list[dict]:
        return json.loads(archive.read(f"data/{table}.json"))

    assert [d["unique_id"] for d in rows("devices")] == [UNIQUE_ID]
    assert {(p["latitude"], p["longitude"]) for p in rows("positions")} == {(LAT, LON)}
    assert "geofence_enter" in {e["type"] for e in rows("events")}
    assert [m["id"] for m in rows("media")] == [media_id]
    assert [(s["media_id"], s["views"]) for s in rows("media_shares")] == [(media_id, 1)]
    assert {c["purpose"] for c in rows("consent_records")} >= {"analytics", "diagnostics"}
    assert [r["log"] for r in rows("diagnostics_reports")] == [PROBLEM]
    assert MAC.encode() not in answer.content, "the MAC was never stored, so never exported"
    assert {s["kind"] for s in rows("auth_sessions")} >= {"api", "web"}
    assert f"tracks/{device['id']}.gpx" in archive.namelist()
    [stored] = [n for n in archive.namelist() if n.startswith(f"media/{media_id}")]
    assert archive.read(stored) == recording, "the recording comes back decrypted, whole"


async def test_erasure_leaves_nothing_in_files_or_logs(services, testdata, caplog):
    caplog.set_level(logging.DEBUG)
    sqlite = services.database.dialect == "sqlite"
    data_dir = services.settings.data_dir
    async with media_world(services) as world:
        http = world.http
        alice, alice_id = await sign_up(http, services, EMAIL, phone=PHONE)
        bob, _ = await sign_up(http, services, OTHER_EMAIL, phone="+4915199988877")
        device = await _device(http, alice, NAME, UNIQUE_ID)
        bob_device = await _device(http, bob, OTHER_NAME, "246813579")
        await _track(services, device, LAT, LON)
        await _track(services, bob_device, 52.5200081, 13.4049541)
        for purpose in ("analytics", "marketing_email"):
            given = await http.post(f"/api/v1/me/consents/{purpose}/give", headers=alice)
            assert given.status_code == 201, given.text

        recording = shared_file(testdata, KARMA)
        made = await upload(http, alice, recording, "GOPR0042.MP4", device_id=device["id"])
        assert made.status_code == 201, made.text
        media_id = made.json()["id"]
        body = await settled(http, alice, media_id)
        assert body["status"] == "ready" and body["track_points"] > 0, body
        geo = await http.get(f"/api/v1/media/{media_id}/track.geojson", headers=alice)
        track_lon, track_lat = geo.json()["features"][0]["geometry"]["coordinates"][0][:2]
        bob_sees = (await http.get("/api/v1/devices", headers=bob)).json()

        # A problem log sent with consent, and a web session, as the person's phone leaves them.
        given = await http.post("/api/v1/me/consents/diagnostics/give", headers=alice)
        assert given.status_code == 201, given.text
        problem = {"source": "dashcam", "mac": MAC, "log": PROBLEM}
        sent = await http.post("/api/v1/diagnostics", headers=alice, json=problem)
        assert sent.status_code == 202, sent.text
        web = await http.post("/api/v1/auth/session", json={"email": EMAIL, "password": PASSWORD})
        assert web.status_code == 200, web.text
        http.cookies.clear()
        shared = await http.post(
            f"/api/v1/media/{media_id}/shares", headers=alice, json={"redact": False}
        )
        assert shared.status_code == 201, shared.text
        link = shared.json()["url"].removeprefix("https://testserver")
        assert (await http.get(link)).status_code == 200

        await _export_holds_everything(http, alice, device, media_id, recording)

        middle = len(recording) // 2
        plaintext = recording[middle : middle + 64]
        token = alice["Authorization"].split()[1]
        identifiers = {
            "email": [EMAIL.encode()],
            "phone": [PHONE.encode()],
            "unique_id": [UNIQUE_ID.encode()],
            "name": [NAME.encode()],
            "coordinates": [str(LAT).encode(), str(LON).encode(), *_doubles(LAT, LON)],
            "recording track": [repr(track_lat).encode(), *_doubles(track_lat, track_lon)],
            "problem log": [PROBLEM.encode()],
        }
        in_logs = [EMAIL, PHONE, UNIQUE_ID, NAME, str(LAT), str(LON), token]

        if sqlite:
            before = _files(data_dir)
            for what, needles in identifiers.items():
                assert _found(before, needles), f"the scan must see the {what} before erasure"
        stored = [p for p in (data_dir / "media").rglob("*") if p.is_file()]
        assert stored, "the recording and its thumbnail are stored"

        erased = await http.delete("/api/v1/me", headers=alice)
        assert erased.status_code == 200, erased.text
        assert erased.json()["deleted"]["media"] >= 1

        # A second attempt is harmless: the old token is dead, a re-run does nothing.
        again = await http.delete("/api/v1/me", headers=alice)
        assert again.status_code == 401
        request_id = uuid.UUID(erased.json()["request_id"])
        rerun = await erasure.execute(
            services.database, request_id=request_id, now=datetime.now(UTC), hooks=[]
        )
        assert rerun == {}
        assert await erasure.resume(services.database, now=datetime.now(UTC)) == 0

        assert (await http.get(link)).status_code == 404, "their share link is dead"
        assert (await http.get(f"{link}/content")).status_code == 404

        # The other person is untouched.
        assert (await http.get("/api/v1/devices", headers=bob)).json() == bob_sees
        async with services.database.session() as db:
            assert await db.scalar(select(User).where(User.email == OTHER_EMAIL)) is not None
            assert await db.scalar(select(User).where(User.id == uuid.UUID(alice_id))) is None
            assert (
                await db.scalar(
                    select(func.count())
                    .select_from(Position)
                    .where(Position.device_id == uuid.UUID(bob_device["id"]))
                )
                == 3
            )
            assert await db.get(Media, uuid.UUID(media_id)) is None
            record = await db.get(PrivacyRequest, request_id)
            assert record.status == "done" and record.user_id is None
            summary = repr(record.summary)
            assert EMAIL not in summary and str(alice_id) not in summary

    await services.database.dispose()
    # On PostgreSQL the database lives in the server's own files; the data dir must be clean.
    after = _files(data_dir)
    leftovers = _found(after, [n for needles in identifiers.values() for n in needles])
    leftovers += _found(after, [plaintext])
    assert leftovers == [], leftovers
    if sqlite:
        assert _found(after, [OTHER_EMAIL.encode(), OTHER_NAME.encode()]), "others are intact"
    assert _log_text(caplog).strip(), "logs were captured"
    leaked = sorted(
        {
            (record.name, value)
            for record in caplog.records
            for value in in_logs
            if value in _log_text_of(record)
        }
    )
    assert leaked == [], f"identifiers in the logs (logger, value): {leaked}"
