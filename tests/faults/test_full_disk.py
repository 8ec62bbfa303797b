"""A full disk: reports that could not be stored are not acknowledged, uploads are refused
with a clear 507, nothing stored before is lost or changed, and camtel works again as soon
as there is space, without a restart.

These variants always run: the database made full with SQLite's `max_page_count` (SQLite
then answers exactly what it answers on a full disk), and ENOSPC at the media store's file
writes. `test_small_disk.py` does the same on a real full tmpfs where it may mount one.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from camtel.media import store as media_store
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.faults import (
    LAT,
    FullDatabase,
    FullDisk,
    files_under,
    fix_time,
    position_rows,
    send_reports,
    stored_times,
    until,
)
from helpers.ingest import Terminal, make_device, running_ingest
from helpers.media import TusUpload, clip, media_world, settled, upload

PHONE = "013912340061"


@pytest.fixture
def engine() -> str:
    """SQLite only: `max_page_count` and the files of the data directory are SQLite's."""
    return "sqlite"


async def test_a_full_database_acknowledges_only_what_it_stored_and_recovers(services, caplog):
    await make_device(services, "jt808", PHONE)
    full = FullDatabase(services.database)
    port = free_port()
    async with running_ingest(services, jt808_port=port, jt808_tz_offset_hours=0) as ingest:
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        before = range(0, 5)
        assert set(await send_reports(terminal, before)) == set(before)
        earlier = await position_rows(services)
        assert len(earlier) == 5

        full.full = True
        during = range(100, 400)  # pages of them: the database must grow, and cannot
        with caplog.at_level(logging.INFO):
            acked = await send_reports(terminal, during)
        times = set(await stored_times(services))
        stored = {n for n in during if fix_time(n) in times}
        assert set(acked) == stored, "acknowledged exactly what was stored"
        assert len(stored) < len(during), "the database really was full"
        assert ingest.stats()["store"]["storage_full"] >= 1
        full_logs = [r.getMessage() for r in caplog.records if "database full" in r.getMessage()]
        assert full_logs, "a clear error in the log"
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert PHONE not in logged and f"{LAT}"[:5] not in logged, "no identifier or position"

        full.full = False  # space is back: the terminal sends what was not acknowledged
        resent = [n for n in during if n not in acked]
        assert set(await send_reports(terminal, resent)) == set(resent)
        # and a terminal that sends everything again changes nothing
        assert set(await send_reports(terminal, during)) == set(during)
        terminal.close()

    times = await stored_times(services)
    assert len(times) == len(set(times)) == len(before) + len(during), "each stored once"
    assert [r for r in await position_rows(services) if r[0] < fix_time(100)] == earlier, (
        "nothing changed"
    )
    async with services.database.session() as db:
        assert (await db.execute(text("PRAGMA integrity_check"))).scalar() == "ok"


async def test_uploads_into_a_full_media_store_are_refused_whole_and_work_again(
    services, monkeypatch
):
    disk = FullDisk(room=64 * 1024)
    monkeypatch.setattr(media_store, "open", disk, raising=False)
    big = clip(seconds=4.0, size=(320, 240)) + bytes(1536 * 1024)  # > one 1 MiB write
    async with media_world(services) as world:
        http = world.http
        headers, _ = await sign_up(http, services, "full@example.com")
        first = clip()
        made = await upload(http, headers, first, "earlier.mp4")
        assert made.status_code == 201, made.text
        earlier = made.json()["id"]
        assert (await settled(http, headers, earlier))["status"] == "ready"
        # A tus upload whose first half arrived before the disk filled.
        tus_upload = await TusUpload.start(http, headers, len(big))
        location, patch = tus_upload.location, tus_upload.patch
        half = len(big) // 2
        assert (await patch(0, big[:half])).status_code == 204
        root = world.lib.store.root  # type: ignore[attr-defined]
        on_disk = files_under(root)

        disk.full = True
        refused = await upload(http, headers, big, "refused.mp4")
        assert refused.status_code == 507, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"].endswith("/storage-full") and "full" in problem["detail"]
        cut = await patch(half, big[half:])
        assert cut.status_code == 507, cut.text
        offset = await http.head(location, headers={**headers, "Tus-Resumable": "1.0.0"})
        assert offset.headers["Upload-Offset"] == str(half), "the upload is where it was"
        assert files_under(root) == on_disk, "no partial object, nothing changed"
        listed = await http.get("/api/v1/media", headers=headers)
        assert [m["id"] for m in listed.json()] == [earlier], "no row for what was refused"

        disk.full = False  # space is back, same process
        resumed = await patch(half, big[half:])
        assert resumed.status_code == 204, resumed.text
        again = await upload(http, headers, clip(seconds=2.0), "after.mp4")
        assert again.status_code == 201, again.text
        for media_id in (resumed.headers["Camtel-Media-Id"], again.json()["id"]):
            await settled(http, headers, media_id)
        whole = await http.get(
            f"/api/v1/media/{resumed.headers['Camtel-Media-Id']}/content", headers=headers
        )
        assert whole.content == big
        kept = await http.get(f"/api/v1/media/{earlier}/content", headers=headers)
        assert kept.content == first, "the earlier recording, byte for byte"
        await until(lambda: not list(root.rglob("*.part")), "no temporary file left")
