"""The simulated fleet against a small real JT/T 808 TCP server built on the platform decoder."""

from __future__ import annotations

import asyncio
import io
import threading
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from rich.console import Console

from camtel.messages import Auth, Heartbeat, Message, Position, Register
from camtel.protocols import jt808
from camtel.sim.cli import simulate
from camtel.sim.fleet import FleetConfig, FleetStats, phone_number, run_fleet

SECRET = b"fleet-test"


class Platform:
    """Decodes every frame, keeps the messages per terminal, writes the replies back."""

    def __init__(self, drop_after_positions: dict[str, int] | None = None) -> None:
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.connections: dict[str, int] = defaultdict(int)
        #: Close a terminal's first connection, without acknowledging, at its n-th position.
        self.drop_after = dict(drop_after_positions or {})
        self.rejected: list[object] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session, splitter = jt808.Session(auth_secret=SECRET), jt808.FrameSplitter()
        counted = False
        try:
            while data := await reader.read(4096):
                for frame in splitter.feed(data):
                    decoded = jt808.decode(frame, session, datetime.now(UTC))
                    unique_id = session.unique_id
                    if not counted:
                        self.connections[unique_id] += 1
                        counted = True
                    if decoded.rejected:
                        self.rejected.append(decoded.rejected)
                    self.messages[unique_id].extend(decoded.messages)
                    if self._should_drop(unique_id):
                        return
                    for reply in decoded.replies:
                        writer.write(reply)
                await writer.drain()
        finally:
            writer.close()

    def _should_drop(self, unique_id: str) -> bool:
        limit = self.drop_after.get(unique_id)
        if limit is None or len(self.positions(unique_id)) < limit:
            return False
        del self.drop_after[unique_id]
        return True

    def positions(self, unique_id: str) -> list[Position]:
        return [m for m in self.messages[unique_id] if isinstance(m, Position)]

    def kinds(self, unique_id: str) -> list[type]:
        return [type(m) for m in self.messages[unique_id]]


async def run_against(platform: Platform, **options: object) -> FleetStats:
    server = await asyncio.start_server(platform.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = FleetConfig(host="127.0.0.1", port=port, **options)  # type: ignore[arg-type]
        return await asyncio.wait_for(run_fleet(config), timeout=30)
    finally:
        server.close()
        await server.wait_closed()


def assert_in_order(positions: list[Position]) -> None:
    times = [p.time for p in positions]
    assert times == sorted(times)


async def test_every_device_registers_authenticates_and_gets_acks():
    platform = Platform()
    progress: list[int] = []
    server = await asyncio.start_server(platform.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = FleetConfig(
        devices=5, host="127.0.0.1", port=port, rate=4.0, duration=2.0, progress_interval_s=0.5
    )
    async with server:
        stats = await run_fleet(config, on_progress=lambda s: progress.append(s.acked))
    ids = [phone_number("0138", i) for i in range(1, 6)]
    assert ids[0] == "013800000001"
    assert sorted(platform.messages) == ids
    for unique_id in ids:
        kinds = platform.kinds(unique_id)
        assert kinds[:2] == [Register, Auth]
        assert kinds[2:] == [Position] * (len(kinds) - 2)
        positions = platform.positions(unique_id)
        assert len(positions) >= 5
        assert_in_order(positions)
        serials = [p.serial for p in positions]
        assert serials == sorted(set(serials))
    assert not platform.rejected
    assert (stats.devices, stats.registered, stats.authenticated) == (5, 5, 5)
    assert stats.sent == stats.acked == sum(len(platform.positions(i)) for i in ids)
    assert (stats.rejected, stats.errors, stats.reconnects, stats.connected) == (0, 0, 0, 0)
    assert stats.latency_median is not None and stats.latency_p99 is not None
    assert 0 < stats.latency_median <= stats.latency_p99 < 1.0
    assert progress and progress[-1] == stats.acked  # the last call carries the final stats


async def test_a_dropped_connection_is_reconnected_and_nothing_is_lost():
    dropped = phone_number("0138", 2)
    platform = Platform(drop_after_positions={dropped: 3})
    stats = await run_against(platform, devices=3, rate=5.0, duration=2.5)
    assert stats.reconnects == 1 and stats.errors == 1
    assert platform.connections[dropped] == 2
    kinds = platform.kinds(dropped)
    # The auth code is kept: the second connection only authenticates.
    assert kinds.count(Register) == 1 and kinds.count(Auth) == 2
    positions = platform.positions(dropped)
    assert_in_order(positions)
    resent = [p for p in positions if p.attributes.get("blind_area")]
    # The unacknowledged 3rd report comes again, as a blind-area batch, before live reports.
    assert resent and resent[0].time == positions[2].time
    assert positions.index(resent[0]) == 3
    assert len(positions) > 6
    assert stats.blind_area == len(resent)
    assert stats.sent == stats.acked + 1  # only the report the server dropped went unacked


async def test_idle_devices_send_heartbeats():
    platform = Platform()
    stats = await run_against(platform, devices=2, rate=0, duration=1.2, heartbeat_s=0.25)
    assert stats.sent == 0 and stats.heartbeats >= 6
    for unique_id in platform.messages:
        assert platform.kinds(unique_id).count(Heartbeat) >= 3


async def test_a_server_that_is_not_there_is_retried():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    config = FleetConfig(devices=1, host="127.0.0.1", port=port, duration=1.0)
    stats = await run_fleet(config)
    assert stats.errors >= 2 and stats.registered == 0 and stats.sent == 0


def test_config_is_validated():
    assert phone_number("0138", 12345678) == "013812345678"
    with pytest.raises(ValueError):
        phone_number("0138", 123456789)
    with pytest.raises(ValueError):
        FleetConfig(devices=0, host="h", port=1)
    with pytest.raises(ValueError):
        FleetConfig(devices=1, host="h", port=1, rate=-1)
    with pytest.raises(ValueError):
        FleetConfig(devices=1, host="h", port=1, prefix="01a")


def test_simulate_runs_a_fleet_and_prints_a_summary():
    platform = Platform()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(platform.handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        output = io.StringIO()
        console = Console(file=output, width=100)
        stats = simulate(2, "127.0.0.1", port, 4.0, 1.0, prefix="0139", console=console)
        quiet = simulate(1, "127.0.0.1", port, 4.0, 0.5, prefix="0140")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    assert stats.registered == 2 and stats.acked > 0 and quiet.acked > 0
    assert "locations acked" in output.getvalue()
    assert "013900000002" in platform.messages and "014000000001" in platform.messages


def test_simulated_dash_cams_raise_alarms_the_decoder_names():
    from datetime import UTC, datetime

    from camtel.protocols import jt808
    from camtel.sim import jt808_terminal as terminal
    from camtel.sim.fleet import Fleet, FleetConfig, _Device
    from camtel.sim.routes import Route

    fleet = Fleet(FleetConfig(devices=1, host="127.0.0.1", port=1, alarm_rate=1.0))
    device = _Device(fleet, 1, 0.0)
    seen = set()
    for _ in range(60):
        location = device._location(Route(1, datetime.now(UTC)).point)
        frame = terminal.location_frame(device.phone, device.next_serial(), location)
        session = jt808.Session()
        decoded = jt808.decode(jt808.FrameSplitter().feed(frame)[0], session, datetime.now(UTC))
        seen.update(decoded.messages[0].alarms)
    assert seen == {"fatigue", "collision", "sos"}
    assert fleet.stats.alarms == 60
    quiet = Fleet(FleetConfig(devices=1, host="127.0.0.1", port=1, alarm_rate=0.0))
    calm = _Device(quiet, 1, 0.0)
    assert all(
        calm._location(Route(1, datetime.now(UTC)).point).alarm_flags == 0 for _ in range(50)
    )
