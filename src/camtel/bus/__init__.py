"""The message bus between gateways and pipeline workers: in-memory by default, NATS
JetStream (`nats://host:4222`) when several processes share the work."""

from __future__ import annotations

from camtel.bus.base import Bus, Envelope
from camtel.bus.memory import MemoryBus


def from_url(url: str, *, partitions: int = 8, capacity: int = 10_000) -> Bus:
    """The bus a `bus_url` setting names: `memory://` or `nats://host:port[/STREAM]`.

    Nothing connects here: a NATS bus connects on first use (or `await bus.connect()`)."""
    if url.startswith("memory://"):
        return MemoryBus(partitions=partitions, capacity=capacity)
    if url.startswith(("nats://", "tls://")):
        from camtel.bus.nats import NatsBus  # the client library loads only when used

        return NatsBus.from_url(url, partitions=partitions)
    raise ValueError(f"bus {url.split('://', 1)[0]!r} is not available; use memory:// or nats://")


__all__ = ["Bus", "Envelope", "MemoryBus", "from_url"]
