"""No acknowledged report is lost when the server dies without warning (SIGKILL).

A real ingest process (its own SQLite database, JT/T 808 on TCP) takes a terminal sending
reports back to back with many unacknowledged at once, as terminals do when they reconnect;
the test kills the process mid-stream, then opens the database: every report the terminal saw
acknowledged is a row. (What was not acknowledged the terminal sends again.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from camtel.config import Settings
from camtel.db.engine import Database
from camtel.devices.models import Position
from helpers.ingest import Terminal, jt808_frame, location_body

PHONE = "013912340001"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
REPORTS = 3000
WINDOW = 64
KILL_AFTER_ACKS = 600

CHILD = r"""
import asyncio, json, sys
from pathlib import Path

from camtel.accounts.models import Organization
from camtel.config import Settings
from camtel.db import migrate
from camtel.devices.models import Device
from camtel.ingest import Ingest
from camtel.services import Services

args = json.loads(sys.argv[1])


async def main():
    settings = Settings(data_dir=Path(args["data_dir"]), jt808_port=args["port"],
                        teltonika_port=0, osmand_port=0, mqtt_url="", log_level="WARNING",
                        jt808_tz_offset_hours=0)
    migrate.upgrade(settings.sqlalchemy_url)
    services = Services.build(settings)
    async with services.database.session() as db:
        org = Organization(name="Fleet")
        db.add(org)
        await db.flush()
        db.add(Device(organization_id=org.id, name="van", unique_id=args["phone"],
                      protocol="jt808"))
    ingest = Ingest.build(services)
    await ingest.start()
    Path(args["ready"]).write_text("listening")
    while True:
        await asyncio.sleep(3600)


asyncio.run(main())
"""


def _bcd(when: datetime) -> str:
    return when.strftime("%y%m%d%H%M%S")


async def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, "the ingest process ended before listening"
        assert time.monotonic() < deadline, "the ingest process did not start"
        await asyncio.sleep(0.1)


async def test_every_acknowledged_report_survives_sigkill(tmp_path: Path) -> None:
    from helpers.env import free_port

    port = free_port()
    args = {"data_dir": str(tmp_path), "port": port, "phone": PHONE,
            "ready": str(tmp_path / "ready")}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=env)
    try:
        await _wait_for(tmp_path / "ready", child)
        terminal = await Terminal(PHONE).connect(port)
        await terminal.login()
        assert terminal.reader is not None and terminal.writer is not None
        first_serial = terminal.serial + 1
        when = {first_serial + n: START + timedelta(seconds=n) for n in range(REPORTS)}
        acked: set[int] = set()
        room = asyncio.Semaphore(WINDOW)

        async def send() -> None:
            for serial, at in when.items():
                await room.acquire()
                terminal.writer.write(jt808_frame(0x0200, location_body(52.5, 13.4, _bcd(at)),
                                                  PHONE, serial))
                await terminal.writer.drain()

        async def read() -> None:
            while True:
                message_id, body = await terminal.reply(timeout=30)
                if message_id == 0x8001 and body[2:4] == b"\x02\x00" and body[4] == 0:
                    acked.add(struct.unpack_from(">H", body)[0])
                    room.release()
                    if len(acked) == KILL_AFTER_ACKS:
                        os.kill(child.pid, signal.SIGKILL)

        sender = asyncio.create_task(send())
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await read()  # until the server is gone
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        terminal.close()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL, "killed, not stopped"
    assert len(acked) >= KILL_AFTER_ACKS

    database = Database(Settings(data_dir=tmp_path).sqlalchemy_url)
    try:
        async with database.session() as db:
            stored = set((await db.scalars(select(Position.time))).all())
    finally:
        await database.dispose()
    stored = {t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in stored}
    lost = sorted(serial for serial in acked if when[serial] not in stored)
    assert lost == [], f"{len(lost)} acknowledged reports are not rows"
    assert len(stored) < REPORTS, "the kill came mid-stream, not after the end"
