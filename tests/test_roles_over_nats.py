"""camtel as separate processes over PostgreSQL and NATS JetStream: a gateway and two workers
(`camtel serve --role ...`); JT/T 808 terminals report back to back, one worker is killed with
SIGKILL mid-run, and every acknowledged report reaches PostgreSQL exactly once. An API node
answers beside them. A device registered or deleted through the API node is known to the
gateway at once (the fan-out over core NATS), not after its cache's TTL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import func, select

from camtel.accounts.models import Organization
from camtel.config import Settings
from camtel.db import migrate
from camtel.db.engine import Database
from camtel.devices.models import Device, Position
from helpers.accounts import sign_up
from helpers.env import free_port, missing
from helpers.ingest import Terminal, jt808_frame, location_body, register_body

NATS = os.environ.get("CAMTEL_TEST_NATS", "nats://127.0.0.1:4222")
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TERMINALS = 12
REPORTS = 150  # each
WINDOW = 16


def _phone(n: int) -> str:
    return f"0139{n:08d}"


def _bcd(when: datetime) -> str:
    return when.strftime("%y%m%d%H%M%S")


async def _reachable(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the process ended before listening"
        assert time.monotonic() < deadline, "the process did not start"
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.2)


async def _nats_reachable() -> None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", 4222)
        writer.close()
    except OSError:
        missing(f"NATS not reachable at {NATS}")


async def _fleet(database_url: str, terminals: int) -> Database:
    """The test's own PostgreSQL database, migrated, with one organisation and `terminals`
    registered JT/T 808 terminals."""
    url = Settings(database_url=database_url).sqlalchemy_url
    migrate.upgrade(url)
    database = Database(url)
    async with database.session() as db:
        org = Organization(name="Fleet")
        db.add(org)
        await db.flush()
        db.add_all(Device(organization_id=org.id, name=f"van {n}", unique_id=_phone(n),
                          protocol="jt808") for n in range(terminals))
    return database


async def _stored(database: Database) -> int:
    async with database.session() as db:
        return await db.scalar(select(func.count()).select_from(Position)) or 0


async def _once_stored(
    database: Database, total: int, *, timeout_s: float
) -> dict[str, tuple[int, int]]:
    """Wait for `total` rows, give a redelivery a moment to show as a double, then answer
    terminal -> (rows, distinct fix times)."""
    deadline = time.monotonic() + timeout_s
    while await _stored(database) < total:
        assert time.monotonic() < deadline, "acknowledged reports did not all arrive"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # anything still redelivered would show as a double now
    async with database.session() as db:
        rows = (await db.execute(
            select(Device.unique_id, func.count(), func.count(func.distinct(Position.time)))
            .join(Position, Position.device_id == Device.id).group_by(Device.unique_id)
        )).all()
    return {phone: (count, distinct) for phone, count, distinct in rows}


def _environment(database_url: str, suffix: str, gateway_port: int, http_port: int
                 ) -> dict[str, str]:
    """What every process of one test's deployment shares: database, bus (a stream and
    subjects of its own), ports."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "CAMTEL_DATABASE_URL": database_url,
        "CAMTEL_BUS_URL": f"{NATS}/CAMTEL_ROLES_{suffix}?subject=camtel.roles{suffix}"
                          "&ack_wait=1&fetch_wait=0.25",
        "CAMTEL_JT808_PORT": str(gateway_port),
        "CAMTEL_TELTONIKA_PORT": "0",
        "CAMTEL_OSMAND_PORT": "0",
        "CAMTEL_HTTP_PORT": str(http_port),
        "CAMTEL_JT808_TZ_OFFSET_HOURS": "0",
        "CAMTEL_LOG_LEVEL": "WARNING",
    }


def _start(env: dict[str, str], tmp_path: Path, role: str, name: str
           ) -> subprocess.Popen[bytes]:
    data = tmp_path / name
    data.mkdir()
    return subprocess.Popen([sys.executable, "-m", "camtel", "serve", "--role", role],
                            env={**env, "CAMTEL_DATA_DIR": str(data)})


async def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes.values():
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def _report(port: int, phone: str, acked: set[datetime]) -> None:
    """Send REPORTS fixes back to back (WINDOW unacknowledged at most), resending what is
    not acknowledged, until every one is."""
    terminal = await Terminal(phone).connect(port)
    await terminal.login()
    assert terminal.writer is not None
    room = asyncio.Semaphore(WINDOW)
    when: dict[int, datetime] = {}

    async def send() -> None:
        for n in range(REPORTS):
            await room.acquire()
            terminal.serial += 1
            at = START + timedelta(seconds=n)
            when[terminal.serial] = at
            terminal.writer.write(jt808_frame(0x0200, location_body(52.5, 13.4, _bcd(at)),
                                              phone, terminal.serial))
            await terminal.writer.drain()

    sender = asyncio.create_task(send())
    while len(acked & set(when.values())) < REPORTS or not sender.done():
        message_id, body = await terminal.reply(timeout=30)
        if message_id == 0x8001 and body[2:4] == b"\x02\x00":
            assert body[4] == 0, "the gateway refused a report"
            acked.add(when[struct.unpack_from(">H", body)[0]])
            room.release()
    await sender
    terminal.close()


async def test_a_worker_killed_mid_run_loses_and_doubles_nothing(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    await _nats_reachable()
    database = await _fleet(empty_postgres_url, TERMINALS)
    suffix = secrets.token_hex(4)
    gateway_port, http_port = free_port(), free_port()
    env = _environment(empty_postgres_url, suffix, gateway_port, http_port)

    def start(role: str, name: str) -> subprocess.Popen[bytes]:
        return _start(env, tmp_path, role, name)

    processes = {name: start(role, name) for name, role in (
        ("worker-a", "worker"), ("worker-b", "worker"), ("gateway", "gateway"),
        ("api", "api"))}
    try:
        await _reachable(gateway_port, processes["gateway"])
        await _reachable(http_port, processes["api"])
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{http_port}/healthz")
        assert health.status_code == 200, health.text

        reporting = [asyncio.create_task(_report(gateway_port, _phone(n), set()))
                     for n in range(TERMINALS)]
        deadline = time.monotonic() + 60
        while await _stored(database) < TERMINALS * REPORTS // 4:  # mid-run
            assert time.monotonic() < deadline, "the workers store nothing"
            await asyncio.sleep(0.05)
        processes["worker-a"].send_signal(signal.SIGKILL)
        await asyncio.wait_for(asyncio.gather(*reporting), 120)
        rows = await _once_stored(database, TERMINALS * REPORTS, timeout_s=90)
        assert processes["worker-a"].wait(10) == -signal.SIGKILL
        assert rows == {
            _phone(n): (REPORTS, REPORTS) for n in range(TERMINALS)
        }, "every report of every terminal once"
        assert processes["worker-b"].poll() is None and processes["gateway"].poll() is None
    finally:
        await _stop(processes)
        await database.dispose()
        await _delete_stream(f"CAMTEL_ROLES_{suffix}")


async def test_a_device_registered_or_deleted_on_the_api_node_is_known_to_the_gateway_at_once(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    """The gateway caches "which device is this" for a minute (an unknown one for ten
    seconds); the API node's change reaches it over the fan-out within a second or two."""
    await _nats_reachable()
    database_url = Settings(database_url=empty_postgres_url).sqlalchemy_url
    migrate.upgrade(database_url)
    database = Database(database_url)
    suffix = secrets.token_hex(4)
    gateway_port, http_port = free_port(), free_port()
    env = _environment(empty_postgres_url, suffix, gateway_port, http_port)
    processes = {name: _start(env, tmp_path, name, name) for name in ("gateway", "api")}
    phone = _phone(7)

    async def registered() -> bool:
        """Whether the gateway accepts the terminal's registration on a new connection."""
        terminal = await Terminal(phone).connect(gateway_port)
        try:
            await terminal.send(0x0100, register_body())
            message_id, body = await terminal.reply()
            assert message_id == 0x8100, hex(message_id)
            return body[2] == 0
        finally:
            terminal.close()

    async def within(seconds: float, accepted: bool) -> None:
        deadline = time.monotonic() + seconds
        while await registered() != accepted:
            assert time.monotonic() < deadline, f"still {'refused' if accepted else 'accepted'}"
            await asyncio.sleep(0.1)

    try:
        await _reachable(gateway_port, processes["gateway"])
        await _reachable(http_port, processes["api"])
        assert not await registered(), "unknown, and now cached as unknown"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:
            owner, _ = await sign_up(client, SimpleNamespace(database=database),
                                     "owner@fleet.example")
            org = (await client.get("/api/v1/organizations", headers=owner)).json()[0]["id"]
            created = await client.post("/api/v1/devices", headers=owner, json={
                "name": "van", "unique_id": phone, "protocol": "jt808", "organization_id": org})
            assert created.status_code == 201, created.text
            await within(3, accepted=True)  # not after the 10 s an unknown device is cached
            assert await registered(), "now cached as registered"
            deleted = await client.delete(f"/api/v1/devices/{created.json()['id']}",
                                          headers=owner)
            assert deleted.status_code == 204, deleted.text
            await within(3, accepted=False)  # not after the minute a device is cached
        assert processes["gateway"].poll() is None and processes["api"].poll() is None
    finally:
        await _stop(processes)
        await database.dispose()
        await _delete_stream(f"CAMTEL_ROLES_{suffix}")


async def _delete_stream(name: str) -> None:
    import nats

    nc = await nats.connect(NATS)
    try:
        js = nc.jetstream()
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
        with contextlib.suppress(Exception):
            await js.delete_key_value(f"{name}_leases")
    finally:
        await nc.close()


async def _report_through_outages(port: int, phone: str, acked: set[datetime]) -> None:
    """Like a terminal: send every fix not yet acknowledged (WINDOW in flight), and when the
    connection drops, reconnect and send again what was not acknowledged."""
    pending = [START + timedelta(seconds=n) for n in range(REPORTS)]
    while pending:
        try:
            terminal = await Terminal(phone).connect(port)
            await terminal.login()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            await asyncio.sleep(0.2)  # the gateway is away: try again
            continue
        assert terminal.writer is not None
        when: dict[int, datetime] = {}
        room = asyncio.Semaphore(WINDOW)

        async def send(terminal: Terminal = terminal, when: dict[int, datetime] = when,
                       room: asyncio.Semaphore = room) -> None:
            for at in list(pending):
                await room.acquire()
                terminal.serial += 1
                when[terminal.serial] = at
                terminal.writer.write(jt808_frame(  # type: ignore[union-attr]
                    0x0200, location_body(52.5, 13.4, _bcd(at)), phone, terminal.serial))
                await terminal.writer.drain()  # type: ignore[union-attr]

        sender = asyncio.create_task(send())
        try:
            while pending:
                message_id, body = await terminal.reply(timeout=30)
                if message_id == 0x8001 and body[2:4] == b"\x02\x00" and body[4] == 0:
                    at = when[struct.unpack_from(">H", body)[0]]
                    acked.add(at)
                    if at in pending:
                        pending.remove(at)
                    room.release()
        except (OSError, asyncio.IncompleteReadError):
            pass  # the gateway died: what it did not acknowledge is sent again
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            terminal.close()


async def test_a_gateway_killed_mid_run_stores_what_it_acknowledged_once(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    await _nats_reachable()
    terminals = 4
    database = await _fleet(empty_postgres_url, terminals)
    suffix = secrets.token_hex(4)
    gateway_port = free_port()
    env = _environment(empty_postgres_url, suffix, gateway_port, free_port())
    processes = {"worker": _start(env, tmp_path, "worker", "worker"),
                 "gateway": _start(env, tmp_path, "gateway", "gateway")}
    acked: set[tuple[str, datetime]] = set()
    try:
        await _reachable(gateway_port, processes["gateway"])
        seen = [set[datetime]() for _ in range(terminals)]
        reporting = [asyncio.create_task(_report_through_outages(gateway_port, _phone(n),
                                                                 seen[n]))
                     for n in range(terminals)]
        deadline = time.monotonic() + 60
        while sum(map(len, seen)) < terminals * REPORTS // 3:  # mid-run
            assert time.monotonic() < deadline, "the gateway acknowledges nothing"
            await asyncio.sleep(0.01)
        processes["gateway"].send_signal(signal.SIGKILL)
        assert processes["gateway"].wait(10) == -signal.SIGKILL
        before_restart = sum(map(len, seen))
        processes["gateway-2"] = _start(env, tmp_path, "gateway", "gateway-2")
        await asyncio.wait_for(asyncio.gather(*reporting), 120)
        assert before_restart < terminals * REPORTS, "the kill came mid-run"
        acked = {(_phone(n), at) for n in range(terminals) for at in seen[n]}
        assert len(acked) == terminals * REPORTS, "the terminals got every report acknowledged"

        rows = await _once_stored(database, terminals * REPORTS, timeout_s=60)
        assert rows == {
            _phone(n): (REPORTS, REPORTS) for n in range(terminals)
        }, "every report once, those acknowledged before the kill included"
    finally:
        await _stop(processes)
        await database.dispose()
        await _delete_stream(f"CAMTEL_ROLES_{suffix}")


def _nats_server(port: int, store: Path) -> subprocess.Popen[bytes]:
    """A NATS server of the test's own (JetStream on `store`), so that restarting it
    disturbs no one else."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(binary).exists():
        missing("nats-server not installed (apt-get install nats-server)")
    return subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd",
                             str(store)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_nats_restarted_during_ingest_loses_nothing_acknowledged(
    tmp_path: Path, empty_postgres_url: str
) -> None:
    nats_port = free_port()
    store = tmp_path / "jetstream"
    server = _nats_server(nats_port, store)
    terminals = 4
    database = await _fleet(empty_postgres_url, terminals)
    gateway_port = free_port()
    env = _environment(empty_postgres_url, secrets.token_hex(4), gateway_port, free_port())
    env["CAMTEL_BUS_URL"] = env["CAMTEL_BUS_URL"].replace(NATS, f"nats://127.0.0.1:{nats_port}")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        await _reachable(nats_port, server)
        processes = {"worker": _start(env, tmp_path, "worker", "worker"),
                     "gateway": _start(env, tmp_path, "gateway", "gateway")}
        await _reachable(gateway_port, processes["gateway"])
        seen = [set[datetime]() for _ in range(terminals)]
        reporting = [asyncio.create_task(_report_through_outages(gateway_port, _phone(n),
                                                                 seen[n]))
                     for n in range(terminals)]
        deadline = time.monotonic() + 60
        while sum(map(len, seen)) < terminals * REPORTS // 3:  # mid-run
            assert time.monotonic() < deadline, "nothing acknowledged"
            await asyncio.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # the bus goes away without warning
        server.wait(10)
        during = sum(map(len, seen))
        await asyncio.sleep(3)
        assert sum(map(len, seen)) - during <= terminals * WINDOW, (
            "the gateway kept acknowledging with no bus to store in"
        )
        server = _nats_server(nats_port, store)  # back, with what it had stored
        await asyncio.wait_for(asyncio.gather(*reporting), 120)
        assert all(len(s) == REPORTS for s in seen), "every report acknowledged in the end"

        rows = await _once_stored(database, terminals * REPORTS, timeout_s=90)
        assert rows == {
            _phone(n): (REPORTS, REPORTS) for n in range(terminals)
        }, "every report once, across the bus's restart"
    finally:
        await _stop(processes)
        await database.dispose()
        server.terminate()
        server.wait(10)
