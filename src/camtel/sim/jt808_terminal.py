"""The device side of JT/T 808 (2013 header): uplink frames a dash cam sends, replies it reads."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from camtel.protocols import jt808
from camtel.protocols.jt808_location import (
    ITEM_MILEAGE,
    ITEM_RSSI,
    ITEM_SATELLITES,
    STATUS_FIX,
    STATUS_SOUTH,
    STATUS_WEST,
)

#: Dash cams keep their clock in China Standard Time, which the platform assumes by default.
DEVICE_TZ_HOURS = 8.0

STATUS_ACC = 1 << 0
STATUS_GPS_USED = 1 << 18

#: Results of the register response 0x8100.
REGISTER_RESULTS = {
    0: "ok",
    1: "vehicle_already_registered",
    2: "vehicle_unknown",
    3: "terminal_already_registered",
    4: "terminal_unknown",
}

#: The most locations one 0x0704 frame carries (a batch must fit a 1023-byte body).
MAX_BATCH = 20


@dataclass(frozen=True, slots=True)
class Location:
    """One location report as the terminal knows it (0x0200 basic information and items)."""

    time: datetime  # timezone-aware
    latitude: float
    longitude: float
    speed_kmh: float = 0.0
    course: float = 0.0
    altitude_m: float = 0.0
    ignition: bool = True
    valid: bool = True
    alarm_flags: int = 0
    odometer_m: int | None = None
    rssi: int | None = None
    satellites: int | None = None


@dataclass(frozen=True, slots=True)
class RegisterResponse:
    """0x8100: the answer to a register, with the auth code when it succeeded."""

    serial: int
    answered_serial: int
    result: int
    auth_code: str

    @property
    def ok(self) -> bool:
        return self.result == 0


@dataclass(frozen=True, slots=True)
class GeneralResponse:
    """0x8001: the platform's acknowledgement of one uplink frame."""

    serial: int
    answered_serial: int
    answered_id: int
    result: int

    @property
    def ok(self) -> bool:
        return self.result == jt808.RESULT_OK


@dataclass(frozen=True, slots=True)
class OtherDownlink:
    """Any other platform message (a command): id, serial and raw body."""

    message_id: int
    serial: int
    body: bytes


Downlink = RegisterResponse | GeneralResponse | OtherDownlink


class DownlinkError(ValueError):
    """A downlink frame the terminal cannot read (framing, checksum, header or body)."""


def frame(message_id: int, body: bytes, phone: str, serial: int) -> bytes:
    """A complete uplink frame with a 2013 header: escaped, checksummed, between 0x7e."""
    # The framing is symmetric, so the platform's own builder frames uplink too.
    return jt808.build_frame(message_id, body, jt808.Session(unique_id=phone, next_serial=serial))


def _fixed(text: str, size: int) -> bytes:
    raw = text.encode("gbk")
    if len(raw) > size:
        raise ValueError(f"{text!r} does not fit {size} bytes")
    return raw.ljust(size, b"\x00")


def register_frame(
    phone: str,
    serial: int,
    *,
    maker: str,
    model: str,
    terminal_id: str,
    plate: str,
    plate_color: int = 1,
    province: int = 0,
    city: int = 0,
) -> bytes:
    """0x0100 terminal register, 2013 body (maker 5, model 20 and terminal id 7 bytes)."""
    body = (
        struct.pack(">HH", province, city)
        + _fixed(maker, 5)
        + _fixed(model, 20)
        + _fixed(terminal_id, 7)
        + bytes([plate_color])
        + plate.encode("gbk")
    )
    return frame(jt808.MSG_TERMINAL_REGISTER, body, phone, serial)


def auth_frame(phone: str, serial: int, code: str) -> bytes:
    """0x0102 terminal authentication, 2013 body: the code from the register response."""
    return frame(jt808.MSG_TERMINAL_AUTH, code.encode("gbk"), phone, serial)


def heartbeat_frame(phone: str, serial: int) -> bytes:
    """0x0002 heartbeat (empty body)."""
    return frame(jt808.MSG_HEARTBEAT, b"", phone, serial)


def terminal_response_frame(
    phone: str, serial: int, answered_serial: int, answered_id: int, result: int = 0
) -> bytes:
    """0x0001 terminal general response to a platform command."""
    body = struct.pack(">HHB", answered_serial, answered_id, result)
    return frame(jt808.MSG_TERMINAL_RESPONSE, body, phone, serial)


def bcd_time(time: datetime, tz_offset_hours: float = DEVICE_TZ_HOURS) -> bytes:
    """YYMMDDhhmmss in BCD, in the device's zone (sub-seconds are dropped, as devices do)."""
    if time.tzinfo is None:
        raise ValueError("location time needs a zone")
    local = time.astimezone(UTC) + timedelta(hours=tz_offset_hours)
    return bytes.fromhex(local.strftime("%y%m%d%H%M%S"))


def location_body(location: Location, tz_offset_hours: float = DEVICE_TZ_HOURS) -> bytes:
    """A 0x0200 body: basic information, then mileage, signal and satellite items when known."""
    status = STATUS_ACC if location.ignition else 0
    if location.valid:
        status |= STATUS_FIX | STATUS_GPS_USED
    if location.latitude < 0:
        status |= STATUS_SOUTH
    if location.longitude < 0:
        status |= STATUS_WEST
    body = struct.pack(
        ">IIIIhHH",
        location.alarm_flags,
        status,
        round(abs(location.latitude) * 1e6),
        round(abs(location.longitude) * 1e6),
        max(-32768, min(32767, round(location.altitude_m))),
        max(0, min(0xFFFF, round(location.speed_kmh * 10))),
        round(location.course) % 360,
    ) + bcd_time(location.time, tz_offset_hours)
    if location.odometer_m is not None:
        body += struct.pack(">BBI", ITEM_MILEAGE, 4, location.odometer_m // 100)  # 1/10 km
    if location.rssi is not None:
        body += bytes([ITEM_RSSI, 1, location.rssi])
    if location.satellites is not None:
        body += bytes([ITEM_SATELLITES, 1, location.satellites])
    return body


def location_frame(phone: str, serial: int, location: Location) -> bytes:
    """0x0200 location report."""
    return frame(jt808.MSG_LOCATION_REPORT, location_body(location), phone, serial)


def location_reply_frame(
    phone: str, serial: int, answered_serial: int, location: Location
) -> bytes:
    """0x0201 answer to a 0x8201 "locate now"."""
    body = struct.pack(">H", answered_serial) + location_body(location)
    return frame(jt808.MSG_LOCATION_QUERY_REPLY, body, phone, serial)


def batch_frame(
    phone: str, serial: int, locations: Iterable[Location], *, blind_area: bool = True
) -> bytes:
    """0x0704 batch of locations; `blind_area` marks a resend of what was stored offline."""
    items = [location_body(location) for location in locations]
    if not 0 < len(items) <= MAX_BATCH:
        raise ValueError(f"a batch carries 1 to {MAX_BATCH} locations, not {len(items)}")
    body = struct.pack(">HB", len(items), 1 if blind_area else 0)
    body += b"".join(struct.pack(">H", len(item)) + item for item in items)
    return frame(jt808.MSG_LOCATION_BATCH, body, phone, serial)


def parse_downlink(data: bytes) -> Downlink:
    """Read one platform frame as `jt808.FrameSplitter` hands it over (un-escaped)."""
    if len(data) < 2 or data[0] != jt808.FLAG or data[-1] != jt808.FLAG:
        raise DownlinkError("not a 0x7e-delimited frame")
    inner = data[1:-1]
    if len(inner) < 13 or jt808.checksum(inner[:-1]) != inner[-1]:
        raise DownlinkError("short frame or bad checksum")
    try:
        header, body = jt808.parse_header(inner[:-1])
        if header.message_id == jt808.MSG_REGISTER_RESPONSE:
            answered, result = struct.unpack_from(">HB", body)
            code = body[3:].decode("gbk", errors="replace") if result == 0 else ""
            return RegisterResponse(header.serial, answered, result, code)
        if header.message_id == jt808.MSG_GENERAL_RESPONSE:
            answered, answered_id, result = struct.unpack_from(">HHB", body)
            return GeneralResponse(header.serial, answered, answered_id, result)
    except (jt808.HeaderError, struct.error) as exc:
        raise DownlinkError(str(exc)) from exc
    return OtherDownlink(header.message_id, header.serial, body)
