"""A fleet of simulated JT/T 808 dash cams over real TCP: register, authenticate, report, ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from camtel.protocols import jt808
from camtel.sim import jt808_terminal as terminal
from camtel.sim.routes import Route, RoutePoint

log = logging.getLogger(__name__)

PHONE_DIGITS = 12
#: Latencies kept for the percentiles (a uniform sample of all of them past this many).
LATENCY_SAMPLE = 10_000
_FIRST_BACKOFF_S = 0.5


#: Alarms the simulated dash cams raise (JT/T 808 alarm bits) and how often, relatively:
#: fatigue warnings are common, collisions and SOS rare.
ALARM_CHOICES = (2, 29, 0)  # fatigue, collision, sos
ALARM_WEIGHTS = (6, 3, 1)


def phone_number(prefix: str, index: int) -> str:
    """The 12-digit terminal phone number of device `index`: the prefix, then the index."""
    width = PHONE_DIGITS - len(prefix)
    if not prefix.isdigit() or width < 1 or len(str(index)) > width:
        raise ValueError(f"prefix {prefix!r} leaves no room for device {index}")
    return prefix + str(index).zfill(width)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """How many dash cams, where they connect, and how they behave."""

    devices: int
    host: str
    port: int
    rate: float = 0.2  # location reports per second per device; 0 sends heartbeats only
    duration: float | None = None  # seconds; None runs until cancelled or stopped
    prefix: str = "0138"
    seed: int = 0
    heartbeat_s: float = 30.0  # idle time after which a heartbeat is sent
    ack_timeout_s: float = 10.0  # an unanswered frame this old drops the connection
    connect_timeout_s: float = 10.0
    max_backoff_s: float = 30.0
    ramp_s: float | None = None  # connects spread over this long; None: 1 s per 100 devices
    max_backlog: int = 1000  # locations kept while offline, resent as blind-area batches
    alarm_rate: float = 0.002  # chance that a report carries an alarm (collision, SOS, fatigue)
    progress_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise ValueError("devices must be at least 1")
        if not 0 <= self.alarm_rate <= 1:
            raise ValueError("alarm_rate must be between 0 and 1")
        if self.rate < 0 or not math.isfinite(self.rate):
            raise ValueError("rate must be a finite number >= 0")
        if self.duration is not None and self.duration <= 0:
            raise ValueError("duration must be positive (or None for no end)")
        phone_number(self.prefix, self.devices)  # raises when the ids would not fit


@dataclass(slots=True)
class FleetStats:
    """Counters of a fleet run; `latency_*` are platform ack latencies in seconds."""

    devices: int = 0
    connected: int = 0  # devices connected right now
    registered: int = 0  # devices that got an auth code
    alarms: int = 0  # reports that carried an alarm
    authenticated: int = 0  # successful authentications, one per connection
    sent: int = 0  # locations sent (each one of a batch counts)
    acked: int = 0  # locations the platform acknowledged with "ok"
    rejected: int = 0  # frames the platform answered with a non-ok result
    errors: int = 0  # failed connects, dropped connections, ack timeouts, unreadable replies
    reconnects: int = 0  # connections made after a device had lost one
    heartbeats: int = 0
    blind_area: int = 0  # locations resent in 0x0704 blind-area batches
    acks: int = 0  # acknowledgements received (any frame, any result)
    _latencies: list[float] = field(default_factory=list, repr=False)
    _sampler: random.Random = field(default_factory=lambda: random.Random(0), repr=False)  # noqa: S311

    def record_latency(self, seconds: float) -> None:
        """Keep a uniform sample (reservoir) of ack latencies."""
        self.acks += 1
        if len(self._latencies) < LATENCY_SAMPLE:
            self._latencies.append(seconds)
            return
        slot = self._sampler.randrange(self.acks)
        if slot < LATENCY_SAMPLE:
            self._latencies[slot] = seconds

    def latency_quantile(self, q: float) -> float | None:
        """The `q` quantile (nearest rank) of the sampled ack latencies, None before any ack."""
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def latency_median(self) -> float | None:
        return self.latency_quantile(0.5)

    @property
    def latency_p99(self) -> float | None:
        return self.latency_quantile(0.99)


ProgressCallback = Callable[[FleetStats], None]


class _Refused(Exception):
    """The platform refused the register or the authentication."""


class _Stopped(Exception):
    """The fleet stopped while a device waited for a reply."""


@dataclass(slots=True)
class _Pending:
    """An uplink frame waiting for the platform's answer."""

    message_id: int
    sent_at: float
    locations: Sequence[terminal.Location] = ()
    future: asyncio.Future[terminal.Downlink] | None = None


class Fleet:
    """Runs `config.devices` dash cams until the duration ends, `stop()` or cancellation."""

    def __init__(self, config: FleetConfig, on_progress: ProgressCallback | None = None) -> None:
        self.config = config
        self.stats = FleetStats(devices=config.devices)
        self._on_progress = on_progress
        self._stop = asyncio.Event()
        self._stop_task: asyncio.Task[bool] | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask every device to finish: in-flight acks are awaited briefly, then it disconnects."""
        self._stop.set()

    async def run(self) -> FleetStats:
        """Run the fleet; returns the final statistics."""
        loop = asyncio.get_running_loop()
        self._stop_task = asyncio.create_task(self._stop.wait())
        ramp = self.config.ramp_s
        if ramp is None:
            ramp = min(10.0, self.config.devices / 100)
        devices = [
            _Device(self, index, start_delay=ramp * (index - 1) / self.config.devices)
            for index in range(1, self.config.devices + 1)
        ]
        tasks = [asyncio.create_task(device.run()) for device in devices]
        progress = asyncio.create_task(self._report_progress()) if self._on_progress else None
        timer = None
        if self.config.duration is not None:
            timer = loop.call_later(self.config.duration, self.stop)
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in [*tasks, progress, self._stop_task]:
                if task is not None:
                    task.cancel()
            if timer is not None:
                timer.cancel()
            if self._on_progress:
                self._on_progress(self.stats)
        return self.stats

    async def sleep(self, seconds: float, *also: asyncio.Future[Any]) -> None:
        """Sleep, waking early when the fleet stops or any of `also` completes."""
        assert self._stop_task is not None
        if seconds > 0:
            await asyncio.wait(
                {self._stop_task, *also}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        else:
            await asyncio.sleep(0)  # let the reader run even when reports are due back to back

    async def _report_progress(self) -> None:
        assert self._on_progress is not None
        while True:
            await asyncio.sleep(self.config.progress_interval_s)
            self._on_progress(self.stats)


class _Device:
    """One dash cam: its identity, route, auth code and the locations it could not deliver."""

    def __init__(self, fleet: Fleet, index: int, start_delay: float) -> None:
        config = fleet.config
        self.fleet, self.config, self.stats = fleet, config, fleet.stats
        self.index = index
        self.phone = phone_number(config.prefix, index)
        self.start_delay = start_delay
        seed = config.seed * 1_000_003 + index
        self.route = Route(seed, datetime.now(UTC))
        self._rng = random.Random(seed)  # noqa: S311 - simulated signal levels
        self._satellites = self._rng.randint(8, 14)
        self._rssi = self._rng.randint(15, 31)
        self.auth_code: str | None = None
        self.backlog: deque[terminal.Location] = deque(maxlen=config.max_backlog)
        self._serial = 0
        self._reported: datetime | None = None  # time of the newest sampled location
        self._has_connected = False

    def next_serial(self) -> int:
        serial = self._serial
        self._serial = (serial + 1) & 0xFFFF
        return serial

    def _location(self, point: RoutePoint) -> terminal.Location:
        self._satellites = min(16, max(4, self._satellites + self._rng.choice((-1, 0, 0, 1))))
        self._rssi = min(31, max(5, self._rssi + self._rng.choice((-1, 0, 0, 1))))
        return terminal.Location(
            alarm_flags=self._alarm(),
            time=point.time,
            latitude=point.latitude,
            longitude=point.longitude,
            speed_kmh=point.speed_kmh,
            course=point.course,
            altitude_m=point.altitude_m,
            ignition=point.ignition,
            odometer_m=point.odometer_m,
            rssi=self._rssi,
            satellites=self._satellites,
        )

    def _alarm(self) -> int:
        """Now and then a dash cam raises an alarm, as real ones do (JT/T 808 alarm bits)."""
        if self.config.alarm_rate <= 0 or self._rng.random() >= self.config.alarm_rate:
            return 0
        bit = self._rng.choices(ALARM_CHOICES, weights=ALARM_WEIGHTS)[0]
        self.stats.alarms += 1
        return 1 << bit

    def sample(self) -> terminal.Location:
        """Where the vehicle is now, as the terminal reports it."""
        now = datetime.now(UTC)
        self._reported = now
        return self._location(self.route.advance_to(now))

    def catch_up(self) -> None:
        """Store the reports a terminal takes while offline, for the blind-area resend."""
        if self._reported is None or self.config.rate <= 0:
            return
        interval = timedelta(seconds=1 / self.config.rate)
        now = datetime.now(UTC)
        missed = int((now - self._reported) / interval)
        if missed > self.config.max_backlog:
            # Older ones would fall out of the backlog anyway: skip straight past them.
            self._reported += interval * (missed - self.config.max_backlog)
        while self._reported + interval <= now:
            self._reported += interval
            self.backlog.append(self._location(self.route.advance_to(self._reported)))

    def requeue(self, pending: Sequence[_Pending]) -> None:
        """Put locations that were never acknowledged back for the blind-area resend."""
        lost = [location for entry in pending for location in entry.locations]
        if lost:
            merged = sorted([*lost, *self.backlog], key=lambda location: location.time)
            self.backlog.clear()
            self.backlog.extend(merged)

    async def run(self) -> None:
        await self.fleet.sleep(self.start_delay)
        backoff = _FIRST_BACKOFF_S
        while not self.fleet.stopping:
            link = await self._connect()
            if link is not None:
                try:
                    await link.run()
                except _Stopped:
                    pass
                except (OSError, TimeoutError, _Refused) as exc:
                    self.stats.errors += 1
                    log.debug("device %d: connection ended: %s", self.index, type(exc).__name__)
                except Exception:
                    # A bug must not stop the rest of the fleet; it shows in the log and errors.
                    self.stats.errors += 1
                    log.exception("device %d: simulator failure", self.index)
                finally:
                    await link.close()
                if link.authenticated:
                    backoff = _FIRST_BACKOFF_S
            if self.fleet.stopping:
                break
            # Jitter keeps a fleet that lost the server together from returning in lockstep.
            await self.fleet.sleep(backoff * self._rng.uniform(0.5, 1.0))
            backoff = min(backoff * 2, self.config.max_backoff_s)

    async def _connect(self) -> _Link | None:
        config = self.config
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(config.host, config.port), config.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            self.stats.errors += 1
            log.debug("device %d: connect failed: %s", self.index, type(exc).__name__)
            return None
        if self._has_connected:
            self.stats.reconnects += 1
        self._has_connected = True
        return _Link(self, reader, writer)


class _Link:
    """One TCP connection of a device: a reader task matching replies to what was sent."""

    def __init__(
        self, device: _Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.device, self.fleet, self.stats = device, device.fleet, device.stats
        self.config = device.config
        self.reader, self.writer = reader, writer
        self.waiting: dict[int, _Pending] = {}
        self.authenticated = False
        self._reader_task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # set whenever nothing waits for an answer
        self.stats.connected += 1

    async def run(self) -> None:
        self._reader_task = asyncio.create_task(self._read())
        device = self.device
        if device.auth_code is None:
            await self._register()
        if not await self._authenticate():
            # The platform forgot the terminal (or changed secret): register afresh once.
            await self._register()
            if not await self._authenticate():
                raise _Refused("authentication refused")
        self.authenticated = True
        self.stats.authenticated += 1
        device.catch_up()
        await self._send_backlog()
        await self._report()
        await self._settle()

    async def close(self) -> None:
        self.stats.connected -= 1
        if self._reader_task is not None:
            self._reader_task.cancel()
        self.device.requeue(list(self.waiting.values()))
        for entry in self.waiting.values():
            if entry.future is not None:
                entry.future.cancel()
        self.waiting.clear()
        self.writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self.writer.wait_closed()

    # --- sending ----------------------------------------------------------------------------

    async def _send(
        self,
        message_id: int,
        build: Callable[[int], bytes],
        locations: Sequence[terminal.Location] = (),
        future: asyncio.Future[terminal.Downlink] | None = None,
    ) -> None:
        if self._closed:
            raise ConnectionResetError("the platform closed the connection")
        serial = self.device.next_serial()
        self.waiting[serial] = _Pending(message_id, time.monotonic(), locations, future)
        self.writer.write(build(serial))
        await self.writer.drain()

    async def _request(self, message_id: int, build: Callable[[int], bytes]) -> terminal.Downlink:
        future: asyncio.Future[terminal.Downlink] = asyncio.get_running_loop().create_future()
        await self._send(message_id, build, future=future)
        assert self._reader_task is not None
        await self.fleet.sleep(self.config.ack_timeout_s, future, self._reader_task)
        if future.done():
            return future.result()
        future.cancel()
        if self.fleet.stopping:
            raise _Stopped
        if self._closed:
            raise ConnectionResetError("the platform closed the connection")
        raise TimeoutError(f"no answer to 0x{message_id:04x}")

    async def _register(self) -> None:
        device = self.device
        city = device.route.city
        reply = await self._request(
            jt808.MSG_TERMINAL_REGISTER,
            lambda serial: terminal.register_frame(
                device.phone,
                serial,
                maker="CAMTL",
                model="CT-SIM-1",
                terminal_id=f"S{device.index:06d}"[-7:],
                plate=f"{city.plate_prefix}{device.index:05d}",
                province=city.province,
                city=city.city,
            ),
        )
        if not isinstance(reply, terminal.RegisterResponse) or not reply.ok:
            raise _Refused(f"register refused: {reply}")
        if device.auth_code is None:
            self.stats.registered += 1
        device.auth_code = reply.auth_code

    async def _authenticate(self) -> bool:
        device = self.device
        code = device.auth_code or ""
        reply = await self._request(
            jt808.MSG_TERMINAL_AUTH,
            lambda serial: terminal.auth_frame(device.phone, serial, code),
        )
        return isinstance(reply, terminal.GeneralResponse) and reply.ok

    async def _send_backlog(self) -> None:
        backlog = self.device.backlog
        while backlog:
            chunk = [backlog.popleft() for _ in range(min(terminal.MAX_BATCH, len(backlog)))]

            def batch(serial: int, chunk: list[terminal.Location] = chunk) -> bytes:
                return terminal.batch_frame(self.device.phone, serial, chunk)

            await self._send(jt808.MSG_LOCATION_BATCH, batch, locations=chunk)
            self.stats.sent += len(chunk)
            self.stats.blind_area += len(chunk)

    async def _report(self) -> None:
        """Send locations at the configured rate, a heartbeat when idle, until the fleet stops."""
        config, device = self.config, self.device
        last_sent = time.monotonic()
        interval = 1 / config.rate if config.rate > 0 else math.inf
        next_report = last_sent if config.rate > 0 else math.inf
        assert self._reader_task is not None
        while not self.fleet.stopping:
            now = time.monotonic()
            self._check_timeouts(now)
            if now >= next_report:
                location = device.sample()

                def report(serial: int, location: terminal.Location = location) -> bytes:
                    return terminal.location_frame(device.phone, serial, location)

                await self._send(jt808.MSG_LOCATION_REPORT, report, locations=(location,))
                self.stats.sent += 1
                last_sent = now
                # After a stall, carry on at the rate rather than bursting to catch up.
                next_report = max(next_report + interval, now)
            elif now - last_sent >= config.heartbeat_s:
                await self._send(
                    jt808.MSG_HEARTBEAT,
                    lambda serial: terminal.heartbeat_frame(device.phone, serial),
                )
                self.stats.heartbeats += 1
                last_sent = now
            wake = min(next_report, last_sent + config.heartbeat_s, now + 1.0)
            await self.fleet.sleep(wake - time.monotonic(), self._reader_task)
            if self._closed:
                raise ConnectionResetError("the platform closed the connection")

    async def _settle(self) -> None:
        """On stop, give the acknowledgements still in flight a moment to arrive."""
        if not self.waiting or self._reader_task is None:
            return
        self._idle.clear()
        idle = asyncio.create_task(self._idle.wait())
        try:
            await asyncio.wait(
                {idle, self._reader_task},
                timeout=min(self.config.ack_timeout_s, 3.0),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            idle.cancel()

    def _check_timeouts(self, now: float) -> None:
        oldest = next(iter(self.waiting.values()), None)
        if oldest is not None and now - oldest.sent_at > self.config.ack_timeout_s:
            raise TimeoutError(f"no answer to 0x{oldest.message_id:04x}")

    # --- receiving --------------------------------------------------------------------------

    @property
    def _closed(self) -> bool:
        return self._reader_task is not None and self._reader_task.done()

    async def _read(self) -> None:
        splitter = jt808.FrameSplitter()
        with contextlib.suppress(OSError):
            while data := await self.reader.read(4096):
                for raw in splitter.feed(data):
                    self._on_frame(raw)

    def _on_frame(self, raw: bytes) -> None:
        try:
            reply = terminal.parse_downlink(raw)
        except terminal.DownlinkError:
            self.stats.errors += 1
            return
        if isinstance(reply, terminal.OtherDownlink):
            self._answer_command(reply)
            return
        entry = self.waiting.pop(reply.answered_serial, None)
        if entry is None:
            return  # an answer to a frame of an earlier connection, or a duplicate
        if not self.waiting:
            self._idle.set()
        self.stats.record_latency(time.monotonic() - entry.sent_at)
        if entry.future is not None:
            if not entry.future.done():
                entry.future.set_result(reply)
            return
        if isinstance(reply, terminal.GeneralResponse) and reply.ok:
            self.stats.acked += len(entry.locations)
        else:
            self.stats.rejected += 1

    def _answer_command(self, command: terminal.OtherDownlink) -> None:
        """Answer platform commands the way a cooperative dash cam would."""
        device = self.device
        serial = device.next_serial()
        if command.message_id == jt808.MSG_LOCATE_NOW:
            location = device.sample()
            reply = terminal.location_reply_frame(device.phone, serial, command.serial, location)
        else:
            reply = terminal.terminal_response_frame(
                device.phone, serial, command.serial, command.message_id
            )
        self.writer.write(reply)


async def run_fleet(config: FleetConfig, on_progress: ProgressCallback | None = None) -> FleetStats:
    """Run a fleet to its end (see `Fleet`)."""
    return await Fleet(config, on_progress).run()
