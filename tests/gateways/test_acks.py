"""Acknowledgements: in frame order, only after durability, none for a failed frame, and the
replies a commit settles together leave in one write."""

from __future__ import annotations

import asyncio
from collections import Counter

from camtel.gateways.acks import OrderedAcks


def _acks(**kwargs):  # type: ignore[no-untyped-def]
    writes: list[bytes] = []
    counters: Counter[str] = Counter()
    return OrderedAcks(writes.append, counters, **kwargs), writes, counters


async def _ticks() -> None:
    """Let the loop run the futures' callbacks and what they schedule."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_replies_leave_in_frame_order_once_their_positions_are_durable():
    acks, writes, _ = _acks()
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    acks.add([b"a1"], [first])
    acks.add([b"b1", b"b2"], [second])
    second.set_result(None)  # the later frame is durable first: it still waits for the first
    await _ticks()
    assert writes == []
    first.set_result(None)
    await _ticks()
    assert writes == [b"a1b1b2"], "one commit settled both frames: one write, in order"
    assert len(acks) == 0


async def test_frames_one_commit_settles_in_order_share_one_write():
    acks, writes, _ = _acks()
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(5)]
    for n, future in enumerate(futures):
        acks.add([b"%d" % n], [future])
    for future in futures:  # as the store settles a committed batch: in order, in one go
        future.set_result(None)
    await _ticks()
    assert writes == [b"01234"]


async def test_a_failed_frame_is_not_answered_and_the_next_one_is():
    acks, writes, counters = _acks()
    loop = asyncio.get_running_loop()
    failed, stored = loop.create_future(), loop.create_future()
    acks.add([b"lost"], [failed])
    acks.add([b"kept"], [stored])
    failed.set_exception(RuntimeError("disk full"))
    stored.set_result(None)
    await _ticks()
    assert writes == [b"kept"]
    assert counters["not_acknowledged"] == 1


async def test_a_frame_without_positions_is_answered_at_once_when_nothing_waits():
    acks, writes, _ = _acks()
    acks.add([b"heartbeat-ack"])
    assert writes == [b"heartbeat-ack"]


async def test_a_frame_that_is_never_durable_times_out_unanswered():
    acks, writes, counters = _acks(timeout_s=0.05)
    never = asyncio.get_running_loop().create_future()
    acks.add([b"never"], [never])
    acks.add([b"after"])
    await asyncio.sleep(0.2)
    assert writes == [b"after"]
    assert counters["not_durable"] == 1
