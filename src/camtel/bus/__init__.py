"""The message bus between gateways and pipeline workers: in-memory by default."""

from __future__ import annotations

from camtel.bus.base import Bus, Envelope
from camtel.bus.memory import MemoryBus


def from_url(url: str, *, partitions: int = 8, capacity: int = 10_000) -> Bus:
    """The bus a `bus_url` setting names; only `memory://` exists so far."""
    if url.startswith("memory://"):
        return MemoryBus(partitions=partitions, capacity=capacity)
    raise ValueError(f"bus {url.split('://', 1)[0]!r} is not available yet; use memory://")


__all__ = ["Bus", "Envelope", "MemoryBus", "from_url"]
