"""What a device's `unique_id` looks like in each protocol (pure checks, no I/O), and what a
gateway knows of a registered device (`DeviceRef`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

#: Protocols camtel takes devices in from, the shape of their identifiers, and a description.
PROTOCOLS: dict[str, tuple[re.Pattern[str], str]] = {
    # JT/T 808 terminal phone number: BCD digits as the device sends them, leading zeros kept:
    # 12 digits (6 bytes, 2011/2013 headers) or 20 digits (10 bytes, 2019 headers).
    "jt808": (re.compile(r"\d{12}|\d{20}"), "the terminal phone number: 12 or 20 digits"),
    "teltonika": (re.compile(r"\d{8,20}"), "the IMEI: 8 to 20 digits"),
    "osmand": (re.compile(r"[\x21-\x7e]{1,128}"), "the device id: 1 to 128 printable characters"),
    "mqtt": (
        re.compile(r"[A-Za-z0-9._:-]{1,64}"),
        "the device id in the topic: 1 to 64 letters, digits or . _ : -",
    ),
}


def normalise_unique_id(protocol: str, unique_id: str) -> str:
    """The identifier as the device will send it, from what a person typed.

    People copy a JT/T 808 terminal number from a label or a SIM card without the leading
    zeros the device pads it with; camtel pads it the same way (to 12 digits, or 20 for a
    number too long for the 2013 header) so that the registration matches the device.
    """
    unique_id = unique_id.strip()
    if protocol == "jt808" and unique_id.isdigit() and len(unique_id) <= 20:
        return unique_id.zfill(12 if len(unique_id) <= 12 else 20)
    return unique_id


def unique_id_problem(protocol: str, unique_id: str) -> str | None:
    """Why `unique_id` cannot name a device of `protocol`, or None when it can."""
    known = PROTOCOLS.get(protocol)
    if known is None:
        return f"unknown protocol; use one of {', '.join(sorted(PROTOCOLS))}"
    pattern, shape = known
    if not pattern.fullmatch(unique_id):
        return f"unique_id for {protocol} must be {shape}"
    return None


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What a gateway needs to know about a registered device."""

    id: uuid.UUID
    protocol: str
    unique_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    #: False while the person this device tracks may not have their location collected
    #: (a minor without a guardian's consent, an erasure under way, or a driver who objects
    #: to sharing their location with their organisation): positions are then acknowledged
    #: but not stored.
    collect_location: bool = True
