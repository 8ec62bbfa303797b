"""The data directory on a real full disk: two small tmpfs, one for the database, one for
the media store, each filled to the last page in turn.

Skipped where the test may not mount a tmpfs (no CAP_SYS_ADMIN); `test_full_disk.py` runs
the same checks everywhere with the fullness injected.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from camtel.config import Settings
from helpers.accounts import sign_up
from helpers.env import free_port
from helpers.faults import (
    files_under,
    fix_time,
    position_rows,
    send_reports,
    stored_times,
    until,
)
from helpers.ingest import Terminal, make_device, running_ingest
from helpers.media import TusUpload, clip, media_world, settled, upload

PHONE = "013912340062"


def _mount(where: Path, size: str) -> None:
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"may not mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def disks(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(data directory, media store), each a tmpfs of its own, unmounted afterwards."""
    data, media = tmp_path / "data", tmp_path / "media"
    mounted = []
    try:
        for where in (data, media):
            _mount(where, "16m")
            mounted.append(where)
        yield data, media
    finally:
        for where in mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def settings(disks: tuple[Path, Path], sqlite_template: Path) -> Settings:
    data, media = disks
    with (
        contextlib.closing(sqlite3.connect(sqlite_template)) as src,
        contextlib.closing(sqlite3.connect(data / "camtel.db")) as dst,
    ):
        src.backup(dst)
    return Settings(data_dir=data, media_url=f"file://{media}", cookie_secure=True)


class Filler:
    """A file that takes every free page of a disk, until it is removed."""

    def __init__(self, disk: Path) -> None:
        self.path = disk / "filler"

    def fill(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * size):
                        pass
        finally:
            os.close(fd)
        with pytest.raises(OSError) as refused, open(self.path, "ab", buffering=0) as file:
            file.write(b"\0")
        assert refused.value.errno == errno.ENOSPC

    def free(self) -> None:
        self.path.unlink()


async def test_a_full_data_disk_then_a_full_media_disk(services, disks):
    data, media = disks
    await make_device(services, "jt808", PHONE)
    big = clip(seconds=3.0, size=(320, 240)) + bytes(512 * 1024)
    port = free_port()
    async with (
        media_world(services) as world,
        running_ingest(services, jt808_port=port, jt808_tz_offset_hours=0) as ingest,
    ):
        http = world.http
        headers, _ = await sign_up(http, services, "disk@example.com")
        first = clip()
        made = await upload(http, headers, first, "earlier.mp4")
        assert made.status_code == 201, made.text
        earlier = made.json()["id"]
        assert (await settled(http, headers, earlier))["status"] == "ready"
        tus_upload = await TusUpload.start(http, headers, len(big))
        tus, location, patch = tus_upload.headers, tus_upload.location, tus_upload.patch
        half = len(big) // 2
        assert (await patch(0, big[:half])).status_code == 204
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        assert set(await send_reports(terminal, range(5))) == set(range(5))
        positions = await position_rows(services)

        # The data disk fills: the database cannot grow its write-ahead log.
        async with services.database.engine.connect() as db:
            await db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        data_disk = Filler(data)
        data_disk.fill()
        objects = files_under(media)

        during = range(100, 120)
        acked = await send_reports(terminal, during)
        times = set(await stored_times(services))
        assert set(acked) == {n for n in during if fix_time(n) in times}, "acked exactly the stored"
        assert len(acked) < len(during), "the disk really was full"
        last = await patch(half, big[half:])  # the object is assembled; its row cannot commit
        assert last.status_code == 507, last.text
        assert last.json()["type"].endswith("/storage-full")
        refused = await upload(http, headers, clip(seconds=2.0), "refused.mp4")
        assert refused.status_code == 507, refused.text
        assert files_under(media) == objects, "no object without its row, no part lost"
        offset = await http.head(location, headers=tus)
        assert offset.headers["Upload-Offset"] == str(half)
        listed = await http.get("/api/v1/media", headers=headers)
        assert [m["id"] for m in listed.json()] == [earlier]

        data_disk.free()  # space is back, same process
        unacked = [n for n in during if n not in acked]
        assert set(await send_reports(terminal, unacked)) == set(unacked)
        resumed = await patch(half, big[half:])
        assert resumed.status_code == 204, resumed.text
        media_id = resumed.headers["Camtel-Media-Id"]
        await settled(http, headers, media_id)
        whole = await http.get(f"/api/v1/media/{media_id}/content", headers=headers)
        assert whole.content == big, "the upload finished whole after the refusal"

        # The media disk fills: the object cannot be written.
        media_disk = Filler(media)
        media_disk.fill()
        objects = files_under(media)
        refused = await upload(http, headers, big, "refused.mp4")
        assert refused.status_code == 507, refused.text
        assert files_under(media) == objects, "no partial object"
        media_disk.free()
        again = await upload(http, headers, clip(seconds=2.0), "after.mp4")
        assert again.status_code == 201, again.text
        await settled(http, headers, again.json()["id"])
        kept = await http.get(f"/api/v1/media/{earlier}/content", headers=headers)
        assert kept.content == first, "the earlier recording, byte for byte"
        terminal.close()
        assert ingest.stats()["store"]["storage_full"] >= 1

    times = await stored_times(services)
    assert len(times) == len(set(times)) == 25, "each report stored once"
    assert [r for r in await position_rows(services) if r[0] < fix_time(100)] == positions
    async with services.database.session() as db:
        assert (await db.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
    await until(lambda: not list(media.rglob("*.part")), "no temporary file left")
