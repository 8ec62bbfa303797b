"""JT/T 808 location bodies (0x0200 and its relatives): flags, additional items, ADAS/DMS."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from camtel.messages import Position

PROTOCOL = "jt808"

#: Size of the fixed part of a location report (alarm, status, lat, lon, alt, speed, course, time).
BASIC_INFO_LENGTH = 28

#: Alarm flag bits of the 0x0200 basic information (JT/T 808-2013 table 24, 2019 table 25).
ALARM_BITS: dict[int, str] = {
    0: "sos",
    1: "overspeed",
    2: "fatigue",
    3: "early_warning",
    4: "gnss_fault",
    5: "gnss_antenna_disconnected",
    6: "gnss_antenna_short",
    7: "power_undervoltage",
    8: "power_cut",
    9: "display_fault",
    10: "tts_fault",
    11: "camera_fault",
    12: "ic_card_fault",
    13: "overspeed_warning",
    14: "fatigue_warning",
    18: "driving_time_exceeded",
    19: "parking_timeout",
    20: "area_in_out",
    21: "route_in_out",
    22: "route_time_abnormal",
    23: "route_deviation",
    24: "vss_fault",
    25: "fuel_abnormal",
    26: "stolen",
    27: "illegal_ignition",
    28: "illegal_movement",
    29: "collision",
    30: "rollover",
    31: "illegal_door_open",
}

#: Single status bits (JT/T 808-2013 table 25); bits 8-9 (load) are decoded separately.
STATUS_BITS: dict[int, str] = {
    0: "ignition",
    4: "out_of_service",
    5: "coordinates_encrypted",
    10: "fuel_circuit_cut",
    11: "electric_circuit_cut",
    12: "door_locked",
    13: "door1_open",
    14: "door2_open",
    15: "door3_open",
    16: "door4_open",
    17: "door5_open",
    18: "gps_used",
    19: "beidou_used",
    20: "glonass_used",
    21: "galileo_used",
    22: "moving",
}
STATUS_FIX = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3
LOAD_STATES = {0: "empty", 1: "half", 2: "reserved", 3: "full"}

#: Alarm/event types of the ADAS item 0x64 (T/JSATL 12-2017, as used with JT/T 1078 dash cams).
ADAS_TYPES = {
    0x01: "adas_forward_collision",
    0x02: "adas_lane_departure",
    0x03: "adas_headway",
    0x04: "adas_pedestrian_collision",
    0x05: "adas_frequent_lane_change",
    0x06: "adas_road_sign_exceeded",
    0x07: "adas_obstacle",
    0x10: "adas_road_sign_recognised",
    0x11: "adas_active_capture",
}
#: Alarm/event types of the driver-monitoring item 0x65.
DMS_TYPES = {
    0x01: "dms_fatigue",
    0x02: "dms_phone",
    0x03: "dms_smoking",
    0x04: "dms_distraction",
    0x05: "dms_driver_abnormal",
    0x10: "dms_auto_capture",
    0x11: "dms_driver_change",
}
#: Event types (not alarms): reported as attributes, never in Position.alarms.
_EVENT_TYPES = {0x10, 0x11}
AREA_TYPES = {0: "none", 1: "circle", 2: "rectangle", 3: "polygon", 4: "route"}

ITEM_MILEAGE = 0x01
ITEM_FUEL = 0x02
ITEM_RECORDER_SPEED = 0x03
ITEM_ALARM_CONFIRM_ID = 0x04
ITEM_OVERSPEED = 0x11
ITEM_AREA = 0x12
ITEM_ROUTE_TIME = 0x13
ITEM_SIGNAL_STATUS = 0x25
ITEM_IO_STATUS = 0x2A
ITEM_ANALOG = 0x2B
ITEM_RSSI = 0x30
ITEM_SATELLITES = 0x31
ITEM_ADAS = 0x64
ITEM_DMS = 0x65


class BodyError(ValueError):
    """A body is shorter or stranger than its message allows."""


def bcd_time(raw: bytes, tz_offset_hours: float) -> datetime:
    """Read a BCD YYMMDDhhmmss device time in the device zone and return it in UTC."""
    digits = raw.hex()
    if len(raw) != 6 or not digits.isdigit():
        raise BodyError("time is not BCD")
    try:
        local = datetime(
            2000 + int(digits[0:2]),
            int(digits[2:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
        )
    except ValueError as exc:
        raise BodyError(f"time out of range: {raw.hex()}") from exc
    return (local - timedelta(hours=tz_offset_hours)).replace(tzinfo=UTC)


def decode_location(
    body: bytes,
    unique_id: str,
    tz_offset_hours: float,
    serial: int | None = None,
    with_items: bool = True,
) -> Position:
    """Decode a 0x0200 body (basic information, then additional items when `with_items`)."""
    if len(body) < BASIC_INFO_LENGTH:
        raise BodyError(f"location body is {len(body)} bytes, needs {BASIC_INFO_LENGTH}")
    alarm, status, lat, lon, alt, speed, course = struct.unpack_from(">IIIIhHH", body)
    time = bcd_time(body[22:28], tz_offset_hours)
    alarms = [name for bit, name in ALARM_BITS.items() if alarm >> bit & 1] if alarm else []
    attributes: dict[str, Any] = {"alarm_flags": alarm, "status_flags": status}
    attributes.update(status_names(status))
    if with_items:
        _decode_items(body[BASIC_INFO_LENGTH:], attributes, alarms)
    latitude = lat / 1e6 * (-1 if status & STATUS_SOUTH else 1)
    longitude = lon / 1e6 * (-1 if status & STATUS_WEST else 1)
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=latitude,
        longitude=longitude,
        valid=bool(status & STATUS_FIX),
        speed_kmh=speed / 10.0,
        course=float(course),
        altitude=float(alt),
        serial=serial,
        alarms=tuple(dict.fromkeys(alarms)),
        attributes=attributes,
    )


_STATUS_CACHE: dict[int, dict[str, Any]] = {}
#: Distinct status words remembered; a fleet uses a handful, a fuzzer could send millions.
_STATUS_CACHE_SIZE = 4096


def status_names(status: int) -> dict[str, Any]:
    """The named status bits and load state of a status word (cached: fleets repeat a few;
    the dictionary is shared, never change it)."""
    named = _STATUS_CACHE.get(status)
    if named is None:
        named = {name: bool(status >> bit & 1) for bit, name in STATUS_BITS.items()}
        named["load"] = LOAD_STATES[status >> 8 & 3]
        if len(_STATUS_CACHE) >= _STATUS_CACHE_SIZE:
            _STATUS_CACHE.clear()
        _STATUS_CACHE[status] = named
    return named


def decode_batch(
    body: bytes, unique_id: str, tz_offset_hours: float, serial: int | None = None
) -> list[Position]:
    """Decode a 0x0704 body: count, kind (1 = blind-area resend), length-prefixed locations."""
    count, kind = struct.unpack_from(">HB", body)
    found: list[Position] = []
    offset = 3
    for _ in range(count):
        (size,) = struct.unpack_from(">H", body, offset)
        item = body[offset + 2 : offset + 2 + size]
        if len(item) < size:
            raise BodyError("batch item runs past the body")
        offset += 2 + size
        position = decode_location(item, unique_id, tz_offset_hours, serial=serial)
        position.attributes["blind_area"] = kind == 1
        found.append(position)
    return found


def _decode_items(data: bytes, attributes: dict[str, Any], alarms: list[str]) -> None:
    """Read the id/length/value additional items; unknown ones are kept as hex."""
    offset = 0
    while offset + 2 <= len(data):
        item, length = data[offset], data[offset + 1]
        value = data[offset + 2 : offset + 2 + length]
        offset += 2 + length
        if len(value) < length:
            # A truncated last item says the device miscounted; keep what it means as hex.
            attributes["items_truncated"] = True
            attributes[f"item_0x{item:02x}"] = value.hex()
            return
        try:
            known = _decode_item(item, value, attributes, alarms)
        except (struct.error, BodyError, IndexError):
            known = False
        if not known:
            attributes[f"item_0x{item:02x}"] = value.hex()
    if offset < len(data):
        attributes["items_trailing"] = data[offset:].hex()


def _decode_item(item: int, value: bytes, attributes: dict[str, Any], alarms: list[str]) -> bool:
    """Decode one standard item into attributes/alarms; False when it is not understood."""
    size = len(value)
    if item == ITEM_MILEAGE and size == 4:
        attributes["odometer_m"] = int.from_bytes(value, "big") * 100
    elif item == ITEM_FUEL and size == 2:
        attributes["fuel_l"] = int.from_bytes(value, "big") / 10.0
    elif item == ITEM_RECORDER_SPEED and size == 2:
        attributes["recorder_speed_kmh"] = int.from_bytes(value, "big") / 10.0
    elif item == ITEM_ALARM_CONFIRM_ID and size == 2:
        attributes["alarm_confirm_id"] = int.from_bytes(value, "big")
    elif item == ITEM_OVERSPEED and size in (1, 5):
        attributes["overspeed_area_type"] = AREA_TYPES.get(value[0], str(value[0]))
        if size == 5:
            attributes["overspeed_area_id"] = int.from_bytes(value[1:], "big")
    elif item == ITEM_AREA and size == 6:
        attributes["area_type"] = AREA_TYPES.get(value[0], str(value[0]))
        attributes["area_id"] = int.from_bytes(value[1:5], "big")
        attributes["area_direction"] = "out" if value[5] else "in"
    elif item == ITEM_ROUTE_TIME and size == 7:
        attributes["route_segment_id"] = int.from_bytes(value[:4], "big")
        attributes["route_segment_time_s"] = int.from_bytes(value[4:6], "big")
        attributes["route_segment_result"] = "too_long" if value[6] else "too_short"
    elif item == ITEM_SIGNAL_STATUS and size == 4:
        attributes["signal_status"] = int.from_bytes(value, "big")
    elif item == ITEM_IO_STATUS and size == 2:
        attributes["io_status"] = int.from_bytes(value, "big")
    elif item == ITEM_ANALOG and size == 4:
        attributes["analog0"] = int.from_bytes(value[2:], "big")
        attributes["analog1"] = int.from_bytes(value[:2], "big")
    elif item == ITEM_RSSI and size == 1:
        attributes["rssi"] = value[0]
    elif item == ITEM_SATELLITES and size == 1:
        attributes["satellites"] = value[0]
    elif item in (ITEM_ADAS, ITEM_DMS):
        return _decode_safety(item, value, attributes, alarms)
    else:
        return False
    return True


def _decode_safety(item: int, value: bytes, attributes: dict[str, Any], alarms: list[str]) -> bool:
    """Decode an ADAS (0x64) or DMS (0x65) alarm item into a named alarm and its details."""
    names = ADAS_TYPES if item == ITEM_ADAS else DMS_TYPES
    prefix = "adas" if item == ITEM_ADAS else "dms"
    # Both start with alarm id, flag, type, level; ADAS then has 7 single bytes, DMS 1 + 4 reserved.
    if len(value) < 7:
        return False
    alarm_id = int.from_bytes(value[:4], "big")
    kind, level = value[5], value[6]
    name = names.get(kind, f"{prefix}_0x{kind:02x}")
    if kind in _EVENT_TYPES:
        attributes[f"{prefix}_event"] = name
    else:
        alarms.append(name)
    attributes[f"{prefix}_alarm_id"] = alarm_id
    attributes[f"{prefix}_alarm_status"] = value[4]
    attributes[f"{prefix}_alarm_level"] = level
    if item == ITEM_ADAS and len(value) >= 14:
        attributes["adas_front_speed_kmh"] = value[7]
        attributes["adas_front_distance_dm"] = value[8]
        attributes["adas_departure_type"] = value[9]
        attributes["adas_road_sign_type"] = value[10]
        attributes["adas_road_sign_value"] = value[11]
    elif item == ITEM_DMS and len(value) >= 8:
        attributes["dms_fatigue_level"] = value[7]
    attributes[f"{prefix}_detail"] = value.hex()
    return True


def _bcd_digits(raw: bytes, count: int | None = None) -> str:
    digits = raw.hex()[:count]
    if not digits.isdigit():
        raise BodyError("coordinate is not BCD")
    return digits


def _degrees_minutes(digits: str, degree_digits: int) -> float:
    """'ddmmmmmm' (or 'dddmmmmmm') BCD digits: degrees, then minutes with four decimals."""
    return int(digits[:degree_digits]) + int(digits[degree_digits:]) / 10000 / 60


def decode_lock_location(body: bytes, unique_id: str, serial: int | None = None) -> Position:
    """Decode the 0x5501/0x5502 body of JT701-style electronic locks (a JT/T 808 dialect).

    Layout, read from captured frames: BCD DDMMYYhhmmss (UTC), latitude BCD ddmm.mmmm,
    longitude BCD dddmm.mmmm plus a flag nibble (bit0 fix, bit1 north, bit2 east), speed km/h,
    course / 2, rssi, satellites, odometer km; the lock status that follows is kept as hex.
    """
    if len(body) < 23:
        raise BodyError(f"lock location body is {len(body)} bytes, needs 23")
    dd, mo, yy, hh, mi, ss = (int(_bcd_digits(body[i : i + 1])) for i in range(6))
    try:
        time = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=UTC)
    except ValueError as exc:
        raise BodyError("lock time out of range") from exc
    latitude = _degrees_minutes(_bcd_digits(body[6:10]), 2)
    longitude = _degrees_minutes(_bcd_digits(body[10:15], 9), 3)
    flags = body[14] & 0x0F
    speed, course, rssi, satellites = body[15], body[16] * 2, body[17], body[18]
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=latitude if flags & 0x2 else -latitude,
        longitude=longitude if flags & 0x4 else -longitude,
        valid=bool(flags & 0x1),
        speed_kmh=float(speed),
        course=float(course),
        serial=serial,
        attributes={
            "rssi": rssi,
            "satellites": satellites,
            "odometer_m": int.from_bytes(body[19:23], "big") * 1000,
            "lock_status": body[23:].hex(),
        },
    )
