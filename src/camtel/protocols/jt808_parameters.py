"""JT/T 808 terminal parameters: the one typed table behind 0x8103 (set) and 0x0104 (answer).

Each parameter has the type the standard gives it (JT/T 808-2013 table 10, JT/T 808-2019
table 12): DWORD, WORD and BYTE are big-endian unsigned numbers, STRING is GBK text and
BYTE[n] is n raw bytes. Decoding follows the table, not the value's length, so a 4-byte APN
is text and a 4-byte BYTE[4] is bytes. A parameter outside the table (a vendor's own) keeps
its raw bytes: its type cannot be known.

Decisions:
- A number of an unexpected size (a WORD sent in 4 bytes) is read as a number of that size;
  anything longer than 8 bytes or empty stays raw bytes.
- STRING is read up to its first NUL (2019 terminates strings with one, 2013 does not) and
  written without one: the parameter's length already says where it ends.
- 0x0018 and 0x0019 (server ports) are 2013 parameters that 2019 folded into the address
  (`host:port` in 0x0013); they stay in the table for the terminals that still send them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

DWORD, WORD, BYTE, STRING, OCTETS = "DWORD", "WORD", "BYTE", "STRING", "BYTE[n]"
_NUMBER_SIZES = {DWORD: 4, WORD: 2, BYTE: 1}

Value = int | str | bytes


@dataclass(frozen=True, slots=True)
class Parameter:
    """One terminal parameter: id, type (with the size of a BYTE[n]), name, first edition."""

    id: int
    kind: str
    name: str
    size: int | None = None  # bytes of a number or a BYTE[n]; None for STRING
    since: int = 2013


def _table(*rows: tuple[int, str, str] | tuple[int, str, str, int]) -> dict[int, Parameter]:
    table: dict[int, Parameter] = {}
    for row in rows:
        parameter_id, kind, name, *since = row
        size = _NUMBER_SIZES.get(kind)
        if kind.startswith("BYTE["):
            kind, size = OCTETS, int(kind[5:-1])
        table[parameter_id] = Parameter(parameter_id, kind, name, size, *since)
    return table


PARAMETERS: dict[int, Parameter] = _table(
    (0x0001, DWORD, "heartbeat_interval_s"),
    (0x0002, DWORD, "tcp_reply_timeout_s"),
    (0x0003, DWORD, "tcp_retransmissions"),
    (0x0004, DWORD, "udp_reply_timeout_s"),
    (0x0005, DWORD, "udp_retransmissions"),
    (0x0006, DWORD, "sms_reply_timeout_s"),
    (0x0007, DWORD, "sms_retransmissions"),
    (0x0010, STRING, "main_apn"),
    (0x0011, STRING, "main_dial_user"),
    (0x0012, STRING, "main_dial_password"),
    (0x0013, STRING, "main_server_address"),
    (0x0014, STRING, "backup_apn"),
    (0x0015, STRING, "backup_dial_user"),
    (0x0016, STRING, "backup_dial_password"),
    (0x0017, STRING, "backup_server_address"),
    (0x0018, DWORD, "server_tcp_port"),
    (0x0019, DWORD, "server_udp_port"),
    (0x001A, STRING, "ic_card_server_address"),
    (0x001B, DWORD, "ic_card_server_tcp_port"),
    (0x001C, DWORD, "ic_card_server_udp_port"),
    (0x001D, STRING, "ic_card_backup_server_address"),
    (0x0020, DWORD, "report_strategy"),
    (0x0021, DWORD, "report_scheme"),
    (0x0022, DWORD, "no_driver_report_interval_s"),
    (0x0023, STRING, "secondary_apn", 2019),
    (0x0024, STRING, "secondary_dial_user", 2019),
    (0x0025, STRING, "secondary_dial_password", 2019),
    (0x0026, STRING, "secondary_backup_server_address", 2019),
    (0x0027, DWORD, "sleep_report_interval_s"),
    (0x0028, DWORD, "alarm_report_interval_s"),
    (0x0029, DWORD, "default_report_interval_s"),
    (0x002C, DWORD, "default_report_distance_m"),
    (0x002D, DWORD, "no_driver_report_distance_m"),
    (0x002E, DWORD, "sleep_report_distance_m"),
    (0x002F, DWORD, "alarm_report_distance_m"),
    (0x0030, DWORD, "corner_resend_angle_deg"),
    (0x0031, WORD, "fence_radius_m"),
    (0x0032, "BYTE[4]", "illegal_driving_period", 2019),  # start hh, mm, end hh, mm
    (0x0040, STRING, "platform_phone"),
    (0x0041, STRING, "reset_phone"),
    (0x0042, STRING, "factory_reset_phone"),
    (0x0043, STRING, "platform_sms_phone"),
    (0x0044, STRING, "sms_alarm_phone"),
    (0x0045, DWORD, "call_answer_strategy"),
    (0x0046, DWORD, "max_call_s"),
    (0x0047, DWORD, "max_call_per_month_s"),
    (0x0048, STRING, "monitor_phone"),
    (0x0049, STRING, "privileged_sms_phone"),
    (0x0050, DWORD, "alarm_mask"),
    (0x0051, DWORD, "alarm_sms_switch"),
    (0x0052, DWORD, "alarm_photo_switch"),
    (0x0053, DWORD, "alarm_photo_store_flags"),
    (0x0054, DWORD, "key_alarm_flags"),
    (0x0055, DWORD, "max_speed_kmh"),
    (0x0056, DWORD, "overspeed_duration_s"),
    (0x0057, DWORD, "continuous_driving_limit_s"),
    (0x0058, DWORD, "daily_driving_limit_s"),
    (0x0059, DWORD, "min_rest_s"),
    (0x005A, DWORD, "max_parking_s"),
    (0x005B, WORD, "overspeed_warning_margin_dkmh"),  # 1/10 km/h
    (0x005C, WORD, "fatigue_warning_margin_s"),
    (0x005D, WORD, "collision_alarm_setting"),
    (0x005E, WORD, "rollover_alarm_angle_deg"),
    (0x0064, DWORD, "timed_photo_control"),
    (0x0065, DWORD, "distance_photo_control"),
    (0x0070, DWORD, "image_quality"),
    (0x0071, DWORD, "brightness"),
    (0x0072, DWORD, "contrast"),
    (0x0073, DWORD, "saturation"),
    (0x0074, DWORD, "chroma"),
    (0x0080, DWORD, "odometer_hm"),  # 1/10 km
    (0x0081, WORD, "province_id"),
    (0x0082, WORD, "city_id"),
    (0x0083, STRING, "plate"),
    (0x0084, BYTE, "plate_color"),
    (0x0090, BYTE, "gnss_mode"),
    (0x0091, BYTE, "gnss_baud_rate"),
    (0x0092, BYTE, "gnss_output_rate"),
    (0x0093, DWORD, "gnss_sample_interval_s"),
    (0x0094, BYTE, "gnss_upload_mode"),
    (0x0095, DWORD, "gnss_upload_setting"),
    (0x0100, DWORD, "can1_sample_interval_ms"),
    (0x0101, WORD, "can1_upload_interval_s"),
    (0x0102, DWORD, "can2_sample_interval_ms"),
    (0x0103, WORD, "can2_upload_interval_s"),
    (0x0110, "BYTE[8]", "can_id_sampling"),
    # 0x0111-0x01FF: more CAN ids sampled one by one, the same BYTE[8] layout as 0x0110.
    *((n, "BYTE[8]", f"can_id_sampling_{n - 0x0110}") for n in range(0x0111, 0x0200)),
)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("gbk", errors="replace").strip()


def decode_value(parameter_id: int, raw: bytes) -> Value:
    """A parameter's value as its type says: int, str, or bytes (BYTE[n] and unknown ids)."""
    parameter = PARAMETERS.get(parameter_id)
    if parameter is None:
        return bytes(raw)
    if parameter.kind == STRING:
        return _text(raw)
    if parameter.kind == OCTETS or not 1 <= len(raw) <= 8:
        return bytes(raw)
    return int.from_bytes(raw, "big")


def encode_value(parameter_id: int, value: object) -> bytes:
    """The bytes of a value for 0x8103; ValueError when it does not fit the parameter's type.

    A parameter outside the table takes an int (as a DWORD), a str (GBK) or raw bytes.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | bytes):
        kind = type(value).__name__
        raise ValueError(f"parameter 0x{parameter_id:04x}: {kind} is not int/str/bytes")
    parameter = PARAMETERS.get(parameter_id)
    kind = parameter.kind if parameter is not None else _unknown_kind(value)
    size = parameter.size if parameter is not None else (4 if kind == DWORD else None)
    if kind == STRING:
        if not isinstance(value, str):
            raise ValueError(f"parameter 0x{parameter_id:04x} is a STRING")
        return value.encode("gbk")
    if kind == OCTETS:
        if not isinstance(value, bytes) or (size is not None and len(value) != size):
            raise ValueError(f"parameter 0x{parameter_id:04x} is BYTE[{size}]: give {size} bytes")
        return value
    assert size is not None
    if not isinstance(value, int) or not 0 <= value < 1 << 8 * size:
        raise ValueError(f"parameter 0x{parameter_id:04x} is a {kind}: 0 to {(1 << 8 * size) - 1}")
    return value.to_bytes(size, "big")


def _unknown_kind(value: int | str | bytes) -> str:
    if isinstance(value, str):
        return STRING
    return OCTETS if isinstance(value, bytes) else DWORD


def decode_list(body: bytes, offset: int, count: int) -> list[tuple[int, Value]]:
    """`count` items of (DWORD id, BYTE length, value) from `offset`; ValueError if cut short."""
    items: list[tuple[int, Value]] = []
    for _ in range(count):
        parameter_id, size = struct.unpack_from(">IB", body, offset)
        raw = body[offset + 5 : offset + 5 + size]
        if len(raw) < size:
            raise ValueError("parameter runs past the body")
        offset += 5 + size
        items.append((parameter_id, decode_value(parameter_id, raw)))
    return items


def encode_list(values: dict[int, object]) -> bytes:
    """The 0x8103 body: a count, then (DWORD id, BYTE length, value) in id order."""
    items = sorted(values.items())
    if len(items) > 0xFF:
        raise ValueError("at most 255 parameters in one 0x8103")
    body = bytes([len(items)])
    for parameter_id, value in items:
        raw = encode_value(parameter_id, value)
        if len(raw) > 0xFF:
            raise ValueError(f"parameter 0x{parameter_id:04x}: {len(raw)} bytes, at most 255")
        body += struct.pack(">IB", parameter_id, len(raw)) + raw
    return body


def describe(items: list[tuple[int, Value]]) -> str:
    """`0xNNNN=value;…` for people: numbers in decimal, text as it is, bytes in hex."""
    return ";".join(
        f"0x{parameter_id:04x}={value.hex() if isinstance(value, bytes) else value}"
        for parameter_id, value in items
    )
