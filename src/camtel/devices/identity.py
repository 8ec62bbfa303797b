"""What a device's `unique_id` looks like in each protocol: pure checks, no I/O."""

from __future__ import annotations

import re

#: Protocols camtel takes devices in from, and the shape of their identifiers.
PROTOCOLS: dict[str, tuple[re.Pattern[str], str]] = {
    # JT/T 808 terminal phone number: BCD digits as sent, leading zeros kept (6 or 10 bytes).
    "jt808": (re.compile(r"\d{1,20}"), "the terminal phone number: 1 to 20 digits"),
    "teltonika": (re.compile(r"\d{15,17}"), "the IMEI: 15 to 17 digits"),
    "osmand": (
        re.compile(r"[A-Za-z0-9._:-]{1,64}"),
        "the device id: 1 to 64 letters, digits or . _ : -",
    ),
    "mqtt": (
        re.compile(r"[A-Za-z0-9._:-]{1,64}"),
        "the device id in the topic: 1 to 64 letters, digits or . _ : -",
    ),
}


def unique_id_problem(protocol: str, unique_id: str) -> str | None:
    """Why `unique_id` cannot name a device of `protocol`, or None when it can."""
    known = PROTOCOLS.get(protocol)
    if known is None:
        return f"unknown protocol; use one of {', '.join(sorted(PROTOCOLS))}"
    pattern, shape = known
    if not pattern.fullmatch(unique_id):
        return f"unique_id for {protocol} must be {shape}"
    return None
