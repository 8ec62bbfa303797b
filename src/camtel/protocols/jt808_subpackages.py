"""JT/T 808 sub-packages: the parts of a long message joined, bounded in memory and time. Pure.

A long message (a photo's 0x0801, a big 0x0704 or 0x0900) comes in parts whose header
carries, after the serial, the number of parts and the part's own index (from 1). Parts are
joined by message id, total and index. The serials are only a hint: a terminal goes on
sending reports and heartbeats between the parts of a photo, from the same serial counter,
so the parts of one message rarely have consecutive serials.

Decisions:
- One set per message id and connection: a terminal uploads one long message of a kind at a
  time. A part that cannot belong to the set held for its id starts a new set and the held
  one is dropped (counted in `evicted`): another total, an index already held with other
  bytes, or a serial that runs against the index (within one message a later part has a
  later serial, at least as many later as the index says, modulo 2^16). The same part again
  with the same bytes is a resend: acknowledged again, kept once.
- A set that received no part for `timeout_s` is dropped; a slow link that keeps sending
  keeps its set, however long the whole upload takes.
- Memory: a set may announce at most `max_parts` parts; at most `max_sets` sets are held
  (the least recently fed is dropped for a new one); at most `max_bytes` in all (other sets
  are dropped, least recently fed first, to make room, and a set that alone is over the
  bound is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

#: Whatever describes the whole message (the JT/T 808 header of its first part).
H = TypeVar("H")


#: Default bounds: 2 MiB held (a photo is a few hundred KiB), 8,192 parts (2 MiB in parts of
#: 256 bytes; terminals send 512 to 1,023), 8 messages waiting at once, 120 s without a part.
MAX_BYTES = 2 * 1024 * 1024
MAX_PARTS = 8192
MAX_SETS = 8
TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of one connection's joining."""

    max_bytes: int = MAX_BYTES
    max_parts: int = MAX_PARTS
    max_sets: int = MAX_SETS
    timeout_s: float = TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Overflow:
    """A part that was acknowledged but could not be kept within the limits."""

    detail: str


@dataclass(slots=True)
class _PartSet(Generic[H]):
    total: int
    updated: datetime
    first: H | None = None
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0
    last: tuple[int, int] = (0, 0)  # (index, serial) of the part received last


def _serial_fits(last: tuple[int, int], index: int, serial: int) -> bool:
    """Whether a part's serial agrees with the order of its index (the serials' hint)."""
    last_index, last_serial = last
    ahead = (serial - last_serial + 0x8000) % 0x10000 - 0x8000  # signed distance, mod 2^16
    steps = index - last_index
    return ahead != 0 and (ahead > 0) == (steps > 0) and abs(ahead) >= abs(steps)


class Joiner(Generic[H]):
    """The sets of parts one connection is waiting to complete."""

    def __init__(self) -> None:
        self.evicted = 0
        self.held_bytes = 0
        self._sets: dict[int, _PartSet[H]] = {}

    def expire(self, now: datetime, timeout_s: float) -> None:
        """Drop the sets that received no part for `timeout_s`."""
        limit = timedelta(seconds=timeout_s)
        for message_id, parts in list(self._sets.items()):
            if now - parts.updated > limit:
                self._drop(message_id)

    def add(
        self,
        *,
        message_id: int,
        total: int,
        index: int,
        serial: int,
        body: bytes,
        header: H,
        now: datetime,
        limits: Limits,
    ) -> tuple[H, bytes] | Overflow | None:
        """Take one part (1 <= index <= total) and its header.

        Returns the whole message with the header of its first part when this part completes
        it, an `Overflow` when the limits refuse the part, else None (waiting for more).
        """
        if total > limits.max_parts:
            return Overflow(f"{total} parts")
        held = self._sets.get(message_id)
        if held is not None and not self._belongs(held, total, index, serial, body):
            self._drop(message_id)
            held = None
        if held is None:
            while self._sets and len(self._sets) >= limits.max_sets:
                self._drop(self._stalest())
            held = self._sets[message_id] = _PartSet(total, now)
        held.updated = now
        if index in held.parts:
            return None  # a resend of what is held
        held.parts[index] = body
        held.size += len(body)
        self.held_bytes += len(body)
        held.last = (index, serial)
        if index == 1:
            held.first = header
        while self.held_bytes > limits.max_bytes:
            if len(self._sets) == 1:  # this message alone is over the bound
                self._drop(message_id)
                return Overflow(f"{held.size} bytes")
            self._drop(self._stalest(sparing=message_id))
        if len(held.parts) < total:
            return None
        del self._sets[message_id]
        self.held_bytes -= held.size
        assert held.first is not None  # index 1 is among the parts
        return held.first, b"".join(held.parts[i] for i in range(1, total + 1))

    @staticmethod
    def _belongs(held: _PartSet[H], total: int, index: int, serial: int, body: bytes) -> bool:
        if held.total != total:
            return False
        if index in held.parts:
            return held.parts[index] == body
        return _serial_fits(held.last, index, serial)

    def _stalest(self, sparing: int | None = None) -> int:
        """The message id of the set fed least recently (other than `sparing`)."""
        candidates = [m for m in self._sets if m != sparing]
        return min(candidates, key=lambda m: self._sets[m].updated)

    def _drop(self, message_id: int) -> None:
        dropped = self._sets.pop(message_id)
        self.held_bytes -= dropped.size
        self.evicted += 1
