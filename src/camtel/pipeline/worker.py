"""The pipeline worker: one task per bus partition, so each device's positions stay in order."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from camtel.bus.base import Bus, Envelope
from camtel.db.base import utcnow
from camtel.pipeline import filter as position_filter
from camtel.pipeline.stages import STAGES
from camtel.pipeline.state import DeviceState, Stage
from camtel.pipeline.store import Store

log = logging.getLogger(__name__)


class Worker:
    """Runs envelopes through the stages, then hands them to the store in the same order.

    A stage that raises is logged and counted, and the position goes on without it: a bug
    in motion must not stop positions from being stored. Dropped positions are settled at
    once (acknowledged): sending an impossible or repeated fix again would not change it.
    """

    def __init__(
        self,
        bus: Bus,
        store: Store,
        *,
        stages: tuple[tuple[str, Stage], ...] = STAGES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bus = bus
        self.store = store
        self.stages = stages
        #: Stages that can prepare a whole batch before its envelopes go through one by one
        #: (the geofence stage measures the batch's fixes against each fence at once).
        self._primers = [stage.prime for _, stage in stages if hasattr(stage, "prime")]
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.states: dict[uuid.UUID, DeviceState] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.store.start()
        self._tasks = [
            asyncio.create_task(self._run(partition), name=f"pipeline-{partition}")
            for partition in range(self.bus.partitions)
        ]

    async def stop(self, drain_s: float = 5.0) -> None:
        """Finish what the bus holds (up to `drain_s`), then stop the partitions and the store."""
        deadline = asyncio.get_running_loop().time() + drain_s
        while self.bus.depth() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.store.stop()

    @property
    def running(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks) and self.store.running

    async def _run(self, partition: int) -> None:
        while True:
            batch = await self.bus.receive_batch(partition, self.store.batch_size)
            for prime in self._primers:
                try:
                    prime(batch)
                except Exception:  # then each stage measures its envelopes on its own
                    self.counters["prime_failed"] += 1
                    log.exception("pipeline stage could not prepare a batch")
            kept = []
            for envelope in batch:
                try:
                    if self._prepare(envelope):
                        kept.append(envelope)
                except Exception as exc:  # one envelope must not stop the partition
                    self.counters["process_failed"] += 1
                    log.exception("pipeline failed on an envelope")
                    envelope.settle(exc)
            if kept:
                await self.store.submit_many(kept)

    async def process(self, envelope: Envelope) -> None:
        """Run one envelope through the stages and queue it for the store."""
        if self._prepare(envelope):
            await self.store.submit(envelope)

    def _prepare(self, envelope: Envelope) -> bool:
        """Run the stages over an envelope; False when one dropped it (then it is settled)."""
        position = envelope.position
        if position is None:  # only "heard from": the store moves last_seen_at
            return True
        state = self.states.get(envelope.device_id)
        if state is None:
            state = self.states[envelope.device_id] = DeviceState()
        now = self.clock()
        self.counters["positions_in"] += 1
        late = position_filter.is_late(position, state.filter)
        for name, stage in self.stages:
            try:
                reason = stage(envelope, state, now)
            except Exception:  # logged and counted; the position goes on
                self.counters[f"stage_failed:{name}"] += 1
                log.exception("pipeline stage %s failed", name)
                continue
            if reason is not None:
                self.counters[f"dropped:{reason}"] += 1
                envelope.settle()
                return False
        if late:
            self.counters["late"] += 1
        self._remember_when_stored(envelope, state)
        return True

    def _remember_when_stored(self, envelope: Envelope, state: DeviceState) -> None:
        # The duplicate check must only trust what is durable: a fix remembered before its
        # write failed would be dropped (and acknowledged) when the device sends it again.
        position, dedup = envelope.position, envelope.dedup
        assert position is not None
        if envelope.done is None:
            envelope.done = asyncio.get_running_loop().create_future()

        def stored(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                position_filter.remember(state.filter, position, dedup)

        envelope.done.add_done_callback(stored)
