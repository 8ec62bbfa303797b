"""The content key of a position: the same fix sent twice gets the same key. Pure.

Computed by the gateway's sink when it hands a fix to the bus, and checked by the pipeline's
filter; stored as the last part of the positions table's key (device, time, dedup), so the
computation must never change: rows already stored would stop matching their repeats.
"""

from __future__ import annotations

import hashlib
import json

from camtel.messages import Position

#: The key's JSON, made once: `json.dumps` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":"))


def dedup_key(position: Position) -> int:
    """A 64-bit digest of what a fix says, so that the same fix sent twice has the same key
    (the last part of the positions table's key: device, time, dedup).

    The message serial is left out on purpose: terminals resend an unacknowledged report
    with a fresh serial, and that must still be the same row. (The first 8 bytes of a 12-byte
    BLAKE2b: what rows stored before migration 0017 kept as hex.)
    """
    content = [
        position.time.isoformat(),
        position.latitude,
        position.longitude,
        position.valid,
        position.speed_kmh,
        position.course,
        position.altitude,
        position.accuracy_m,
        position.source,
        sorted(position.alarms),
        position.attributes,
    ]
    raw = _ENCODER.encode(content)
    digest = hashlib.blake2b(raw.encode(), digest_size=12).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
