"""Shared vocabulary between protocols, gateways and the pipeline; imports nothing of camtel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Position:
    """One fix reported by a device, already converted to UTC and WGS 84 degrees."""

    protocol: str
    unique_id: str
    time: datetime
    latitude: float
    longitude: float
    valid: bool = True
    speed_kmh: float | None = None
    course: float | None = None
    altitude: float | None = None
    accuracy_m: float | None = None
    source: str = "gps"
    serial: int | None = None
    alarms: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The device is alive and has nothing else to say."""

    protocol: str
    unique_id: str


@dataclass(frozen=True, slots=True)
class Register:
    """A terminal announces itself (JT/T 808 0x0100 and the like)."""

    protocol: str
    unique_id: str
    manufacturer: str = ""
    model: str = ""
    terminal_id: str = ""
    plate: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Auth:
    """A terminal proves who it is with the code it was given at registration."""

    protocol: str
    unique_id: str
    code: str
    imei: str = ""
    software_version: str = ""


@dataclass(frozen=True, slots=True)
class Logout:
    """The device says it is going away."""

    protocol: str
    unique_id: str


@dataclass(frozen=True, slots=True)
class MediaChunk:
    """A photo or clip from a device camera, whole once reassembled by the protocol."""

    protocol: str
    unique_id: str
    media_id: int
    kind: str  # "photo" | "audio" | "video"
    format: str  # "jpeg", "mp4", ...
    channel: int
    event: int
    data: bytes
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class CommandReply:
    """A device's answer to a command camtel sent it."""

    protocol: str
    unique_id: str
    serial: int | None
    result: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    """A command to send down to a device; `params` depend on `kind`."""

    kind: str  # "set_parameters" | "terminal_control" | "locate" | "text" | "photo" | "custom"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes a decoder would not accept, with a short named reason (never an exception)."""

    reason: str
    detail: str = ""


Message = Position | Heartbeat | Register | Auth | Logout | MediaChunk | CommandReply


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something that happened to a device, decided by a pipeline stage.

    `cause` makes it idempotent: the same cause (e.g. "geofence_exit:<fence>:<fix time>")
    stored twice is one event.
    """

    type: str
    time: datetime
    cause: str
    urgent: bool = False
    latitude: float | None = None
    longitude: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
