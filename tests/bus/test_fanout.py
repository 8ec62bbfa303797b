"""The fan-out over core NATS between the processes of a split deployment: a change or a live
update made in one reaches the others' listeners and hubs once, and is not echoed back."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from camtel.app import publish_positions
from camtel.bus.base import Envelope
from camtel.bus.fanout import ORIGIN, Fanout, prefix_of
from camtel.bus.live import LiveHub, LiveUpdate, Subscription
from camtel.messages import Position
from helpers.env import missing
from helpers.nats import NATS_URL

T0 = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)


@dataclass
class Process:
    """What one process holds: its listener lists, its live hub, its side of the fan-out."""

    fanout: Fanout
    devices: list[tuple[str, str]] = field(default_factory=list)
    fences: list[uuid.UUID] = field(default_factory=list)

    @property
    def live(self) -> LiveHub:
        return self.fanout.live

    def device_changed(self, protocol: str, unique_id: str) -> None:
        """What `Services.device_changed` does: call every local listener."""
        for listener in list(self.fanout.device_listeners):
            listener(protocol, unique_id)

    def fences_changed(self, organization_id: uuid.UUID) -> None:
        for listener in list(self.fanout.fence_listeners):
            listener(organization_id)


@pytest.fixture
async def make_process() -> AsyncIterator[Callable[..., Process]]:
    """Processes sharing one test's prefix (so that tests on one NATS server do not mix)."""
    import nats

    try:
        nc = await asyncio.wait_for(nats.connect(NATS_URL, allow_reconnect=False), 3)
    except Exception as exc:
        missing(f"NATS at {NATS_URL} ({type(exc).__name__})")
    await nc.close()
    prefix = prefix_of(f"camtel.test{secrets.token_hex(4)}.positions")
    made: list[Process] = []

    def make(*, live_viewers: bool = True) -> Process:
        devices: list = []
        fences: list = []
        process = Process(
            Fanout(
                NATS_URL,
                prefix=prefix,
                device_listeners=devices,
                fence_listeners=fences,
                live=LiveHub(),
                live_viewers=live_viewers,
            )
        )
        devices.append(lambda protocol, unique_id: process.devices.append((protocol, unique_id)))
        fences.append(process.fences.append)
        made.append(process)
        return process

    try:
        yield make
    finally:
        for process in made:
            await process.fanout.stop()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def settled(*processes: Process) -> None:
    """Long enough for an echo or a bounce to have come back, had there been one."""
    for process in processes:
        assert process.fanout._nc is not None
        await process.fanout._nc.flush(timeout=2)
    await asyncio.sleep(0.2)


def drain(subscription: Subscription) -> list[LiveUpdate]:
    got = []
    while not subscription.queue.empty():
        got.append(subscription.queue.get_nowait())
    return got


async def test_a_device_change_reaches_the_other_process_once_and_is_not_echoed(
    make_process: Callable[..., Process],
) -> None:
    api, gateway = make_process(), make_process(live_viewers=False)
    await api.fanout.start()
    await gateway.fanout.start()

    api.device_changed("jt808", "013912345678")

    await eventually(lambda: gateway.devices == [("jt808", "013912345678")])
    await settled(api, gateway)
    assert api.devices == [("jt808", "013912345678")], "called once here, not again by the echo"
    assert gateway.devices == [("jt808", "013912345678")], "applied there, not bounced back"
    assert api.fanout.counters["own"] == 1
    assert gateway.fanout.counters["sent"] == 0, "what it applied, it does not send on"


async def test_a_fence_change_reaches_every_other_process(
    make_process: Callable[..., Process],
) -> None:
    api, worker_a, worker_b = (
        make_process(),
        make_process(live_viewers=False),
        make_process(live_viewers=False),
    )
    for process in (api, worker_a, worker_b):
        await process.fanout.start()
    organization = uuid.uuid4()

    api.fences_changed(organization)

    await eventually(lambda: worker_a.fences == worker_b.fences == [organization])
    await settled(api, worker_a, worker_b)
    assert api.fences == worker_a.fences == worker_b.fences == [organization]


async def test_a_stored_batch_reaches_the_api_nodes_live_hub_as_it_was_published(
    make_process: Callable[..., Process],
) -> None:
    worker, api = make_process(live_viewers=False), make_process()
    await worker.fanout.start()
    await api.fanout.start()
    here, there = worker.live.subscribe(), api.live.subscribe()
    device = uuid.uuid4()
    batch = [
        Envelope(
            device,
            Position(
                "jt808",
                "013912345678",
                T0 + timedelta(seconds=n),
                52.5 + n / 1000,
                13.4,
                speed_kmh=float(n),
                course=90.0,
                attributes={"n": n, "io": {"in1": True}, "odometer": float("nan")},
            ),
            T0,
        )
        for n in range(3)
    ] + [Envelope(device, None, T0)]  # "heard from": nothing to show

    publish_positions(worker.live, batch)

    await eventually(lambda: there.queue.qsize() == 3)
    await settled(worker, api)
    sent, received = drain(here), drain(there)
    assert [u.payload["attributes"]["n"] for u in received] == [0, 1, 2], "in order"
    for mine, theirs in zip(sent, received, strict=True):
        assert (theirs.kind, theirs.device_id) == ("position", device)
        assert str(theirs.payload["attributes"].pop("odometer")) == "nan"  # NaN != NaN
        mine.payload["attributes"].pop("odometer")
        assert theirs.payload == mine.payload, "time, coordinates, speed, attributes..."
    assert worker.fanout.counters["sent"] == 1, "one message for the whole batch"
    assert there.queue.empty() and api.live.published == 3, "delivered once"


async def test_live_updates_reach_only_processes_with_live_viewers(
    make_process: Callable[..., Process],
) -> None:
    api, worker, gateway = (
        make_process(),
        make_process(live_viewers=False),
        make_process(live_viewers=False),
    )
    for process in (api, worker, gateway):
        await process.fanout.start()
    event = LiveUpdate("event", uuid.uuid4(), {"event": "geofenceEnter", "urgent": False})

    worker.live.publish(event)

    await eventually(lambda: api.live.published == 1)
    await settled(api, worker, gateway)
    assert gateway.live.published == 0, "a gateway does not subscribe to live updates"
    assert worker.live.published == 1, "its own, delivered locally only"


async def test_an_unreadable_message_is_skipped_and_the_next_one_applied(
    make_process: Callable[..., Process],
) -> None:
    api, gateway = make_process(), make_process(live_viewers=False)
    await api.fanout.start()
    await gateway.fanout.start()
    nc = api.fanout._nc
    assert nc is not None
    subject = f"{api.fanout.prefix}.changed.device"
    for junk in (b"not json", b'{"v": 99, "protocol": "x"}', b'{"v": 1, "protocol": "x"}'):
        await nc.publish(subject, junk, headers={ORIGIN: "another"})

    api.device_changed("osmand", "van")

    await eventually(lambda: gateway.devices == [("osmand", "van")])
    assert gateway.fanout.counters["unreadable"] == 3


async def test_stopped_it_no_longer_relays_nor_listens(
    make_process: Callable[..., Process],
) -> None:
    api, gateway = make_process(), make_process(live_viewers=False)
    await api.fanout.start()
    await gateway.fanout.start()
    await api.fanout.stop()
    assert api.fanout.device_changed not in api.fanout.device_listeners
    assert not api.live.relays

    api.device_changed("osmand", "van")  # nothing is relayed now

    await settled(gateway)
    assert gateway.devices == []


def test_the_fanout_sits_beside_the_bus_a_url_names() -> None:
    fanout = Fanout.from_url(
        "nats://n1:4222,n2:4222/FLEET?subject=fleet.positions",
        device_listeners=[],
        fence_listeners=[],
        live=LiveHub(),
    )
    assert fanout.servers == ["nats://n1:4222", "nats://n2:4222"]
    assert fanout.prefix == "fleet.positions.fanout"
    default = Fanout.from_url(
        "nats://127.0.0.1:4222", device_listeners=[], fence_listeners=[], live=LiveHub()
    )
    assert default.prefix == "camtel.positions.fanout"
