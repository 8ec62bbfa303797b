"""How an envelope travels between processes: compact JSON that decodes to an equal envelope.

Times are written with `isoformat()` (microseconds and the zone offset included, to the
second: no zone has a finer one) and read back with `fromisoformat()`, so an aware time
keeps its offset and a naive one stays naive; a named zone travels as its offset.
Position `attributes` must hold JSON values (the database keeps them as JSON too): a tuple
inside them would come back as a list. `Envelope.events` and `done` do not travel: the
worker decides the events, and each process has its own futures.
Fields a newer sender adds are ignored, so that a rolling upgrade does not lose positions.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from pydantic_core import from_json, to_json

from camtel.bus.base import Envelope
from camtel.messages import Position

VERSION = 1
_FIELDS = frozenset(f.name for f in dataclasses.fields(Position))


class WireError(ValueError):
    """Bytes that are not an envelope this version can read."""


def encode(envelope: Envelope) -> bytes:
    """The envelope's bytes on the bus."""
    position = envelope.position
    body: dict[str, Any] = {
        "v": VERSION,
        "device": envelope.device_id.hex,
        "received_at": envelope.received_at.isoformat(),
        "dedup": envelope.dedup,
        "position": None if position is None else _position(position),
    }
    # "constants": NaN and infinities survive (a JSON null would not be the same float).
    return to_json(body, inf_nan_mode="constants")


def decode(data: bytes) -> Envelope:
    """The envelope `encode` wrote (without `done`: the receiver gives it one)."""
    try:
        body = from_json(data, allow_inf_nan=True)
        if body.get("v") != VERSION:
            raise WireError(f"envelope version {body.get('v')!r}")
        raw = body["position"]
        position = None
        if raw is not None:
            fields = {k: v for k, v in raw.items() if k in _FIELDS}
            fields["time"] = datetime.fromisoformat(fields["time"])
            fields["alarms"] = tuple(fields.get("alarms", ()))
            position = Position(**fields)
        return Envelope(
            uuid.UUID(hex=body["device"]),
            position,
            datetime.fromisoformat(body["received_at"]),
            body["dedup"],
        )
    except WireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WireError(type(exc).__name__) from exc


def message_id(envelope: Envelope) -> str | None:
    """What makes a re-published position the same message (JetStream drops the copy);
    None for a "heard from", which is harmless to repeat."""
    position = envelope.position
    if position is None:
        return None
    return f"{envelope.device_id.hex}:{position.time.isoformat()}:{envelope.dedup}"


def _position(position: Position) -> dict[str, Any]:
    fields = {f: getattr(position, f) for f in _FIELDS}
    fields["time"] = position.time.isoformat()
    fields["alarms"] = list(position.alarms)
    return fields
