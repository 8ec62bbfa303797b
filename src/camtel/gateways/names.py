"""How gateways name devices in logs: a short keyed hash, never the IMEI or phone number."""

from __future__ import annotations

import hashlib
import secrets

# A key per process: a log line can be followed within a run, and an unkeyed hash of a
# 15-digit IMEI could be reversed by trying them all.
_KEY = secrets.token_bytes(16)


def label(unique_id: str | None) -> str:
    """A stable-per-process stand-in for a device identity, safe to log."""
    if not unique_id:
        return "-"
    return "dev:" + hashlib.blake2b(unique_id.encode(), key=_KEY, digest_size=4).hexdigest()
