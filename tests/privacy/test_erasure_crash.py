"""An erasure interrupted by killing the process (SIGKILL, no clean-up of any kind) leaves the
person's data whole, and the next start (`erasure.resume`, as the lifespan calls it) finishes
it: everything of theirs goes, the request is `done` without a user id, others keep theirs.

The erasure runs in a child Python process on the same database (the SQLite file of the test's
data directory, or the test's PostgreSQL database). A hook runs inside the erasure's
transaction: it deletes the person's positions (so a write is pending), writes a ready file,
and sleeps; the parent then kills the child with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from camtel.accounts.models import AuthSession, User
from camtel.app import build_api
from camtel.devices.models import Device, Position
from camtel.events.models import Event
from camtel.media.models import Media, MediaKey
from camtel.privacy import erasure
from camtel.privacy.models import ConsentRecord
from camtel.privacy.rights_models import PrivacyRequest
from camtel.services import Services
from helpers.accounts import sign_up

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
READY_TIMEOUT_S = 60

CHILD = r"""
import asyncio, json, sys, uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete

from camtel.app import build_api
from camtel.config import Settings
from camtel.devices.models import Position
from camtel.privacy import erasure
from camtel.services import Services

args = json.loads(sys.argv[1])


async def main():
    settings = Settings(
        data_dir=Path(args["data_dir"]), database_url=args["database_url"], cookie_secure=True
    )
    services = Services.build(settings)
    build_api(services)  # registers the media erasure hook, as in a real process

    async def stall(db, scope):
        # A pending write inside the erasure transaction, then "the power goes".
        await db.execute(delete(Position).where(Position.device_id.in_(scope.own_devices)))
        await db.flush()
        Path(args["ready"]).write_text("in the transaction")
        while True:
            await asyncio.sleep(3600)

    await erasure.execute(
        services.database,
        request_id=uuid.UUID(args["request_id"]),
        now=datetime.fromisoformat(args["now"]),
        hooks=[stall, *services.erasure_hooks],
    )
    sys.exit("the erasure finished although the hook never returns")


asyncio.run(main())
"""


async def _person(client, services, email: str, unique_id: str):  # type: ignore[no-untyped-def]
    headers, user_id = await sign_up(client, services, email)
    device = (
        await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": f"Crash-{unique_id}", "unique_id": unique_id, "protocol": "osmand"},
        )
    ).json()
    device_id = uuid.UUID(device["id"])
    async with services.database.session() as db:
        for n in range(5):
            db.add(
                Position(
                    device_id=device_id,
                    time=NOW - timedelta(minutes=n),
                    server_time=NOW,
                    latitude=48.1 + n / 1e3,
                    longitude=11.5,
                    attributes={},
                )
            )
        db.add(
            Event(
                organization_id=uuid.UUID(device["organization_id"]),
                device_id=device_id,
                type="alarm",
                time=NOW,
                urgent=True,
                cause=f"sos:{unique_id}",
                attributes={},
                created_at=NOW,
            )
        )
    given = await client.post("/api/v1/me/consents/analytics/give", headers=headers)
    assert given.status_code == 201, given.text
    made = await client.post(
        "/api/v1/media",
        headers=headers,
        files={"file": ("raw.bin", os.urandom(70_000), "application/octet-stream")},
    )
    assert made.status_code == 201, made.text
    return uuid.UUID(user_id), device_id, uuid.UUID(made.json()["id"])


async def _holdings(services: Services, user_id, device_id, media_id) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How much of one person is in the database, table by table."""

    async def count(model, *where) -> int:  # type: ignore[no-untyped-def]
        async with services.database.session() as db:
            return await db.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "users": await count(User, User.id == user_id),
        "sessions": await count(AuthSession, AuthSession.user_id == user_id),
        "devices": await count(Device, Device.id == device_id),
        "positions": await count(Position, Position.device_id == device_id),
        "events": await count(Event, Event.device_id == device_id),
        "consents": await count(ConsentRecord, ConsentRecord.user_id == user_id),
        "media": await count(Media, Media.id == media_id),
        "media_keys": await count(MediaKey, MediaKey.owner_id == user_id),
    }


def _media_objects(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "media").rglob("*") if p.is_file()]


async def test_erasure_killed_mid_transaction_resumes_on_restart(client, services, tmp_path):
    settings = services.settings
    alice = await _person(client, services, "crash-alice@example.com", "860001")
    bob = await _person(client, services, "crash-bob@example.com", "860002")
    alice_before = await _holdings(services, *alice)
    bob_before = await _holdings(services, *bob)
    assert alice_before == {
        "users": 1,
        "sessions": 1,
        "devices": 1,
        "positions": 5,
        "events": 1,
        "consents": 1,
        "media": 1,
        "media_keys": 1,
    }, alice_before
    objects_before = _media_objects(settings.data_dir)
    assert len(objects_before) == 2, "one encrypted object per person"

    async with services.database.session() as db:
        request = await erasure.request_erasure(db, user_id=alice[0], now=NOW)
    ready = tmp_path / "ready"
    args = {
        "data_dir": str(settings.data_dir),
        "database_url": settings.database_url,
        "request_id": str(request.id),
        "now": NOW.isoformat(),
        "ready": str(ready),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.exists():
            if child.poll() is not None:
                _, err = child.communicate()
                raise AssertionError(f"the child ended early ({child.returncode}): {err.decode()}")
            assert time.monotonic() < deadline, "the child never reached the erasure hook"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]

    # Killed inside the transaction: nothing of the person went, the request is in progress.
    assert await _holdings(services, *alice) == alice_before, "the pending deletes rolled back"
    async with services.database.session() as db:
        pending = await db.get(PrivacyRequest, request.id)
        assert pending.status == "in_progress" and pending.user_id == alice[0]

    # The next start: a new process's services, resuming as the lifespan does.
    restarted = Services.build(settings)
    try:
        build_api(restarted)
        resumed = await erasure.resume(restarted.database, now=NOW, hooks=restarted.erasure_hooks)
        assert resumed == 1
    finally:
        await restarted.database.dispose()

    after = await _holdings(services, *alice)
    assert after == dict.fromkeys(after, 0), after
    async with services.database.session() as db:
        done = await db.get(PrivacyRequest, request.id)
        assert done.status == "done" and done.user_id is None and done.completed_at is not None
        assert done.summary["deleted"]["positions"] == 5
        assert await db.scalar(select(User).where(User.email == "crash-alice@example.com")) is None
    assert await _holdings(services, *bob) == bob_before, "the other person keeps everything"
    left = _media_objects(settings.data_dir)
    assert len(left) == 1 and left[0] in objects_before, "only the other person's object stays"
    # Resuming again finds nothing to do.
    assert await erasure.resume(services.database, now=NOW, hooks=services.erasure_hooks) == 0
