"""The NATS JetStream bus against a real nats-server: partitions in order, durable publish,
one worker per partition at a time, and redelivery after a nak or a killed worker."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from camtel.bus import Envelope, from_url
from camtel.bus.base import partition_of
from camtel.bus.nats import NatsBus
from camtel.dedup import dedup_key
from camtel.gateways.registry import DeviceRef
from camtel.gateways.sink import Sink
from camtel.messages import Position
from helpers.nats import FAST, NATS_URL, BusFactory

T0 = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)


def fix(device: uuid.UUID, n: int) -> Envelope:
    """The n-th report of a device, with attributes and alarms to carry."""
    position = Position(
        "jt808",
        device.hex[:12],
        T0 + timedelta(seconds=10 * n),
        52.5 + n / 1000,
        13.4,
        speed_kmh=float(n),
        serial=n,
        alarms=("overspeed",) if n % 3 == 0 else (),
        attributes={"n": n, "io": {"in1": n % 2 == 0}},
    )
    return Envelope(
        device, position, T0 + timedelta(seconds=10 * n, milliseconds=5), dedup_key(position)
    )


def n_of(envelope: Envelope) -> int:
    assert envelope.position is not None
    return envelope.position.attributes["n"]


async def stream_messages(bus: NatsBus) -> int:
    await bus.connect()
    assert bus._js is not None
    return (await bus._js.stream_info(bus.stream)).state.messages


async def test_envelopes_come_back_whole_and_in_order_per_partition(make_bus: BusFactory) -> None:
    bus = make_bus(partitions=4)
    devices = [uuid.uuid4() for _ in range(12)]
    sent = [fix(device, n) for n in range(5) for device in devices]
    for envelope in sent:
        await bus.publish(envelope)
    got: list[Envelope] = []
    for partition in range(4):
        expected = sum(partition_of(e.device_id, 4) == partition for e in sent)
        while sum(partition_of(e.device_id, 4) == partition for e in got) < expected:
            batch = await asyncio.wait_for(bus.receive_batch(partition, 100), 10)
            assert all(partition_of(e.device_id, 4) == partition for e in batch)
            got += batch
            for envelope in batch:
                envelope.settle()
    assert len({partition_of(d, 4) for d in devices}) > 1, "devices spread over partitions"
    assert len(got) == len(sent)
    by_device = {d: [e for e in got if e.device_id == d] for d in devices}
    for device in devices:
        mine = [e for e in sent if e.device_id == device]
        assert [(e.position, e.received_at, e.dedup) for e in by_device[device]] == [
            (e.position, e.received_at, e.dedup) for e in mine
        ], "every field, in publish order"
    await asyncio.sleep(0.2)  # the acks are on their way
    assert bus.depth() == 0
    assert await bus.backlog() == 0


async def test_a_message_published_twice_is_stored_once(make_bus: BusFactory) -> None:
    bus = make_bus()
    envelope = fix(uuid.uuid4(), 1)
    await bus.publish(envelope)
    await bus.publish(fix(envelope.device_id, 1))  # a gateway's retry after a timeout
    assert await stream_messages(bus) == 1
    assert bus.counters["duplicates"] == 1
    await bus.publish(fix(envelope.device_id, 2))
    assert await stream_messages(bus) == 2


async def test_a_nakd_envelope_is_delivered_again(make_bus: BusFactory) -> None:
    bus = make_bus()
    device = uuid.uuid4()
    for n in range(2):
        await bus.publish(fix(device, n))
    first = await asyncio.wait_for(bus.receive_batch(0, 10), 10)
    assert [n_of(e) for e in first] == [0, 1]
    assert bus.depth() == 2
    first[0].settle(RuntimeError("the database is away"))
    first[1].settle()
    await asyncio.sleep(0)  # the futures' callbacks
    assert bus.depth() == 0
    again = await asyncio.wait_for(bus.receive_batch(0, 10), 10)
    assert [n_of(e) for e in again] == [0]
    again[0].settle()
    assert bus.counters["naks"] == 1


KILLED_WORKER = """
import asyncio, sys
from camtel.bus.nats import NatsBus

async def main():
    url, stream, subject = sys.argv[1:4]
    bus = NatsBus(url, stream=stream, subject=subject, partitions=1,
                  ack_wait_s=1.0, fetch_wait_s=0.25)
    batch = await bus.receive_batch(0, 100)
    print(" ".join(str(e.position.attributes["n"]) for e in batch), flush=True)
    await asyncio.sleep(3600)  # holds them, unacknowledged, until killed

asyncio.run(main())
"""


async def test_a_killed_workers_messages_go_to_another_worker(make_bus: BusFactory) -> None:
    gateway = make_bus()
    device = uuid.uuid4()
    for n in range(5):
        await gateway.publish(fix(device, n))
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_WORKER,
        NATS_URL,
        make_bus.stream,
        make_bus.subject,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        line = await asyncio.wait_for(worker.stdout.readline(), 20)
        assert line.split() == [b"0", b"1", b"2", b"3", b"4"]
    finally:
        worker.kill()  # SIGKILL: no nak, no lease handed over
        await worker.wait()
    await gateway.publish(fix(device, 5))  # newer than what the killed worker held
    second = make_bus()
    started = asyncio.get_running_loop().time()
    got: list[Envelope] = []
    while len(got) < 6:
        got += await asyncio.wait_for(second.receive_batch(0, 100), 15)
    assert [n_of(e) for e in got] == [0, 1, 2, 3, 4, 5], "all of them, the redelivered first"
    assert asyncio.get_running_loop().time() - started >= FAST["ack_wait_s"]
    for envelope in got:
        envelope.settle()
    await gateway.publish(fix(device, 6))
    later = await asyncio.wait_for(second.receive_batch(0, 100), 10)
    assert [n_of(e) for e in later] == [6], "acknowledged ones are not delivered again"
    later[0].settle()


async def test_two_workers_never_hold_a_partition_at_once(make_bus: BusFactory) -> None:
    partitions, per_device = 2, 30
    gateway = make_bus(partitions=partitions)
    first, second = make_bus(partitions=partitions), make_bus(partitions=partitions)
    devices = [uuid.uuid4() for _ in range(6)]
    holder: dict[int, NatsBus | None] = dict.fromkeys(range(partitions))
    overlaps: list[int] = []
    seen: dict[uuid.UUID, list[int]] = {d: [] for d in devices}
    everything = asyncio.Event()
    worked: Counter[NatsBus] = Counter()

    async def work(bus: NatsBus, partition: int) -> None:
        while True:
            batch = await bus.receive_batch(partition, 5)
            if holder[partition] not in (None, bus):
                overlaps.append(partition)
            holder[partition] = bus
            try:
                await asyncio.sleep(0.01)  # the stages and the store
            finally:  # stopped meanwhile: these stay unsettled, and close() gives them back
                holder[partition] = None
            for envelope in batch:
                seen[envelope.device_id].append(n_of(envelope))
            worked[bus] += len(batch)
            for envelope in batch:
                envelope.settle()
            if sum(map(len, seen.values())) >= len(devices) * per_device:
                everything.set()

    def run(bus: NatsBus) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(work(bus, p)) for p in range(partitions)]

    async def publish(numbers: range) -> None:
        for n in numbers:
            for device in devices:
                await gateway.publish(fix(device, n))
            await asyncio.sleep(0.1)  # long enough for the workers to share the partitions

    first_tasks, second_tasks = run(first), run(second)
    await publish(range(per_device // 2))
    # The first worker stops as `camtel serve` does: its tasks end, then the bus closes.
    for task in first_tasks:
        task.cancel()
    await asyncio.gather(*first_tasks, return_exceptions=True)
    await first.close()
    await publish(range(per_device // 2, per_device))
    try:
        await asyncio.wait_for(everything.wait(), 30)
    finally:
        for task in second_tasks:
            task.cancel()
        await asyncio.gather(*second_tasks, return_exceptions=True)
    assert overlaps == []
    assert worked[first] and worked[second], "both took part"
    for device in devices:
        assert seen[device] == list(range(per_device)), "each once, in order"


async def test_the_sink_settles_on_the_publish_ack(make_bus: BusFactory) -> None:
    bus = make_bus()
    device = DeviceRef(uuid.uuid4(), "osmand", "4711")

    class Registry:
        async def resolve(self, protocol: str, unique_id: str) -> DeviceRef:
            return device

    sink = Sink(bus, Registry())  # type: ignore[arg-type]
    report = fix(device.id, 1).position
    assert report is not None
    assert await asyncio.wait_for(sink.deliver(device, [report]), 10)
    assert await stream_messages(bus) == 1, "durable in JetStream before the acknowledgement"
    assert sink.counters["durable"] == 1


def test_from_url_picks_the_bus() -> None:
    from camtel.bus import MemoryBus

    assert isinstance(from_url("memory://"), MemoryBus)
    bus = from_url("nats://a:4222,b:4223/FLEET?ack_wait=5&max_ack_pending=100", partitions=4)
    assert isinstance(bus, NatsBus) and bus.durable_publish
    assert bus.servers == ["nats://a:4222", "nats://b:4223"]
    assert (bus.stream, bus.partitions, bus.ack_wait_s, bus.max_ack_pending) == (
        "FLEET",
        4,
        5.0,
        100,
    )
    assert bus.lease_ttl_s >= 4 / 3 * (5 + bus.fetch_wait_s)
    assert from_url("nats://127.0.0.1:4222").stream == "CAMTEL_POSITIONS"  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        from_url("nats://127.0.0.1:4222?ack_wiat=5")
    with pytest.raises(ValueError):
        from_url("nats://127.0.0.1:4222?ack_wait=30&lease_ttl=5")
