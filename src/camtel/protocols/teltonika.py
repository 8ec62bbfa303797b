"""Teltonika trackers: IMEI handshake, AVL codecs 8, 8E, 16 and 7, GPRS commands (12, 13, 14)."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from camtel.messages import Command, CommandReply, Heartbeat, Message, Position, Rejected
from camtel.protocols.base import Decoded, keep_plausible

PROTOCOL = "teltonika"

CODEC_GH3000 = 0x07  # the GH personal trackers: masked fields, float coordinates
CODEC_8 = 0x08
CODEC_8_EXT = 0x8E  # two-byte IO ids and counts, plus variable-length elements
CODEC_16 = 0x10  # two-byte IO ids and a generation type
CODEC_12 = 0x0C  # GPRS commands and their responses
CODEC_13 = 0x0D  # device-originated text with a timestamp
CODEC_14 = 0x0E  # GPRS commands addressed to one IMEI

MSG_COMMAND = 0x05
MSG_RESPONSE = 0x06
MSG_CAMERA = 0x0D
MSG_WRONG_IMEI = 0x11

PING = b"\xff"
ACCEPT = b"\x01"
REFUSE = b"\x00"

PREAMBLE = b"\x00\x00\x00\x00"
HEADER_SIZE = 8  # preamble and data length
CRC_SIZE = 4
MIN_DATA_SIZE = 3  # codec id and the two record counts
MAX_IMEI_LENGTH = 20
IMEI_PATTERN = re.compile(rb"[0-9]{8,20}")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GH3000_EPOCH = datetime(2007, 1, 1, tzinfo=UTC)
PRIORITY_PANIC = 2


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/IBM (reflected polynomial 0xA001, initial value 0) as Teltonika frames carry it."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


@dataclass(slots=True)
class Session:
    """What one TCP connection has learned so far; owned by the gateway, updated by `decode`."""

    unique_id: str | None = None
    authenticated: bool = False
    #: Codec 7 records may leave the location out; they reuse the last one, marked invalid.
    last_fix: tuple[float, float] | None = None

    @property
    def imei(self) -> str | None:
        """The IMEI the device introduced itself with (the same as `unique_id`)."""
        return self.unique_id


# ---------------------------------------------------------------------------------------------
# Framing


# Where garbage before the handshake may end: a ping, or a zero byte that may open a frame.
_RESYNC = re.compile(rb"[\x00\xff]")


class FrameSplitter:
    """Cuts a Teltonika TCP stream into frames: the IMEI handshake first, then AVL packets.

    A lone 0xFF between frames is the device's keep-alive ping and comes out as its own frame.
    """

    def __init__(self, max_buffer: int = 64 * 1024) -> None:
        self.max_buffer = max_buffer
        self.dropped_bytes = 0
        self._buffer = bytearray()
        self._handshake_seen = False

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (never more than `max_buffer`)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the connection; return every frame now complete, in order."""
        self._buffer += data
        frames: list[bytes] = []
        pos = 0
        while pos < len(self._buffer):
            size = self._frame_size(pos)
            if size is None:
                break
            if size < 0:  # garbage: skip to where a frame may start
                end = self._resync(pos)
                self.dropped_bytes += end - pos
                pos = end
                continue
            frames.append(bytes(self._buffer[pos : pos + size]))
            pos += size
        del self._buffer[:pos]
        return frames

    def _resync(self, pos: int) -> int:
        """Where, after garbage at `pos`, a frame may start (a 0xFF there is garbage too)."""
        buf = self._buffer
        if not self._handshake_seen:  # a handshake opens with a zero byte, or comes after a ping
            match = _RESYNC.search(buf, pos + 1)
            return match.start() if match else len(buf)
        found = buf.find(PREAMBLE, pos + 1)
        if found >= 0:
            return found
        end = len(buf)  # keep up to three trailing zeros: they may begin the next preamble
        while end > max(pos + 1, len(buf) - 3) and buf[end - 1] == 0:
            end -= 1
        return end

    def _frame_size(self, pos: int) -> int | None:
        """Size of the frame at `pos`; None while incomplete; negative when it cannot be one."""
        buf = self._buffer
        available = len(buf) - pos
        if buf[pos] == PING[0]:
            return 1
        if not self._handshake_seen:
            if available < 2:
                return None
            length = int.from_bytes(buf[pos : pos + 2], "big")
            if length:  # zero opens an AVL preamble (data before the handshake: decode refuses)
                if length > MAX_IMEI_LENGTH:
                    return -1
                if available < 2 + length:
                    return None
                self._handshake_seen = True
                return 2 + length
        head = bytes(buf[pos : pos + min(available, 4)])
        if head != PREAMBLE[: len(head)]:
            return -1
        if available < HEADER_SIZE:
            return None
        length = int.from_bytes(buf[pos + 4 : pos + 8], "big")
        size = HEADER_SIZE + length + CRC_SIZE
        if length < MIN_DATA_SIZE or size > self.max_buffer:
            return -1
        return size if available >= size else None


# ---------------------------------------------------------------------------------------------
# Decoding


class _Malformed(Exception):
    """Raised inside the decoder, turned into a Rejected at its edge."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class _Reader:
    """Big-endian reads from a byte string that fail with a named reason past its end."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _Malformed("malformed", f"record runs past the data at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def sint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big", signed=True)

    def float32(self) -> float:
        return struct.unpack(">f", self.take(4))[0]


def decode(frame: bytes, session: Session, now: datetime) -> Decoded:
    """Decode one frame from `FrameSplitter`; never raises, bad bytes come back as Rejected."""
    try:
        return _decode(frame, session, now)
    except _Malformed as error:
        return Decoded(rejected=Rejected(error.reason, error.detail))
    except Exception as error:  # the last guard: a device's bytes must never crash a gateway
        return Decoded(rejected=Rejected("malformed", type(error).__name__))


def _decode(frame: bytes, session: Session, now: datetime) -> Decoded:
    if frame == PING:
        beat: list[Message] = [Heartbeat(PROTOCOL, session.unique_id)] if session.unique_id else []
        return Decoded(messages=beat)
    if len(frame) < 2:
        return Decoded(rejected=Rejected("malformed", "frame too short"))
    if frame[:2] != PREAMBLE[:2]:
        return _decode_handshake(frame, session)
    if not session.authenticated or not session.unique_id:
        return Decoded(rejected=Rejected("no_imei", "data before the IMEI handshake"))
    if len(frame) < HEADER_SIZE + MIN_DATA_SIZE + CRC_SIZE or frame[:4] != PREAMBLE:
        return Decoded(rejected=Rejected("bad_length", f"{len(frame)} bytes"))
    length = int.from_bytes(frame[4:8], "big")
    if len(frame) != HEADER_SIZE + length + CRC_SIZE:
        return Decoded(rejected=Rejected("bad_length", f"says {length}, has {len(frame) - 12}"))
    data = frame[HEADER_SIZE:-CRC_SIZE]
    # No reply to a bad CRC: the device keeps the records and sends them again.
    if int.from_bytes(frame[-CRC_SIZE:], "big") != crc16(data):
        return Decoded(rejected=Rejected("bad_crc"))
    return _decode_data(data, session.unique_id, session, now)


def _decode_handshake(frame: bytes, session: Session) -> Decoded:
    length = int.from_bytes(frame[:2], "big")
    imei = frame[2:]
    if len(imei) != length:
        return Decoded(rejected=Rejected("bad_length", "IMEI handshake"))
    if not IMEI_PATTERN.fullmatch(imei):
        return Decoded(replies=[REFUSE], rejected=Rejected("bad_imei"))
    if session.authenticated and session.unique_id != imei.decode("ascii"):
        return Decoded(replies=[REFUSE], rejected=Rejected("imei_changed"))
    session.unique_id = imei.decode("ascii")
    session.authenticated = True
    return Decoded(messages=[Heartbeat(PROTOCOL, session.unique_id)], replies=[ACCEPT])


def _decode_data(data: bytes, unique_id: str, session: Session, now: datetime) -> Decoded:
    """The data field of a TCP frame: codec id to the last record count."""
    codec = data[0]
    if codec in RECORD_CODECS:
        count, positions = _decode_records(data, unique_id, session)
        decoded = keep_plausible(positions, now)
        decoded.replies.append(count.to_bytes(4, "big"))
        return decoded
    if codec in (CODEC_12, CODEC_13, CODEC_14):
        return _decode_command_codec(data, unique_id)
    return Decoded(rejected=Rejected("unsupported_codec", f"0x{codec:02x}"))


def _decode_records(data: bytes, unique_id: str, session: Session) -> tuple[int, list[Position]]:
    codec, count = data[0], data[1]
    if data[-1] != count:
        raise _Malformed("malformed", f"record counts differ: {count} and {data[-1]}")
    try:
        return count, _read_records(data, unique_id, session, sixteen=False)
    except _Malformed:
        # Some FMB models, when configured so, add a group of 16-byte IO values to codec 8 and
        # 16 records; the CRC already vouched for the bytes, so the other layout is worth a try.
        if codec not in (CODEC_8, CODEC_16):
            raise
    return count, _read_records(data, unique_id, session, sixteen=True)


def _read_records(
    data: bytes, unique_id: str, session: Session, *, sixteen: bool
) -> list[Position]:
    codec, count = data[0], data[1]
    reader = _Reader(data[:-1], 2)
    positions = []
    for _ in range(count):
        if codec == CODEC_GH3000:
            position = _decode_gh3000_record(reader, unique_id, session)
        else:
            position = _decode_avl_record(reader, unique_id, session, codec, sixteen)
        if position is not None:
            positions.append(position)
    if reader.pos != len(reader.data):
        raise _Malformed("malformed", f"{len(reader.data) - reader.pos} bytes after the records")
    return positions


def _ms_time(milliseconds: int) -> datetime:
    try:
        return EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError as error:
        raise _Malformed("bad_time", str(milliseconds)) from error


def _decode_avl_record(
    reader: _Reader, unique_id: str, session: Session, codec: int, sixteen: bool
) -> Position:
    """One record of codec 8, 8E or 16: time, priority, GPS element, IO element."""
    time = _ms_time(reader.uint(8))
    priority = reader.uint(1)
    longitude = reader.sint(4) / 1e7
    latitude = reader.sint(4) / 1e7
    altitude = reader.sint(2)
    angle = reader.uint(2)
    satellites = reader.uint(1)
    speed = reader.uint(2)

    wide = codec in (CODEC_8_EXT, CODEC_16)
    event_io = reader.uint(2 if wide else 1)
    attributes: dict[str, Any] = {"priority": priority, "satellites": satellites}
    if codec == CODEC_16:
        attributes["generation_type"] = reader.uint(1)
    count_size = 2 if codec == CODEC_8_EXT else 1
    reader.uint(count_size)  # total element count, implied by the per-size counts
    elements: dict[int, tuple[int | bytes, int]] = {}
    for size in (1, 2, 4, 8, 16) if sixteen else (1, 2, 4, 8):
        for _ in range(reader.uint(count_size)):
            io_id = reader.uint(2 if wide else 1)
            elements[io_id] = (reader.uint(size), size)
    if codec == CODEC_8_EXT:
        for _ in range(reader.uint(2)):
            io_id = reader.uint(2)
            elements[io_id] = (reader.take(reader.uint(2)), 0)

    if event_io:
        attributes["event_io"] = event_io
    attributes.update(_io_attributes(elements))
    valid = satellites > 0 and (latitude, longitude) != (0.0, 0.0)
    if valid:
        session.last_fix = (latitude, longitude)
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=latitude,
        longitude=longitude,
        valid=valid,
        speed_kmh=float(speed),
        course=float(angle % 360),
        altitude=float(altitude),
        alarms=_alarms(priority, event_io, elements),
        attributes=attributes,
    )


def _decode_gh3000_record(reader: _Reader, unique_id: str, session: Session) -> Position | None:
    """One codec 7 record: its masks say which fields follow; no location means the last one."""
    word = reader.uint(4)
    priority = word >> 30
    time = GH3000_EPOCH + timedelta(seconds=word & 0x3FFFFFFF)
    global_mask = reader.uint(1)
    attributes: dict[str, Any] = {"priority": priority}
    fix: tuple[float, float] | None = None
    satellites = speed = course = altitude = None
    if global_mask & 0x01:
        mask = reader.uint(1)
        if mask & 0x01:
            latitude = reader.float32()
            fix = (latitude, reader.float32())
        if mask & 0x02:
            altitude = float(reader.uint(2))
        if mask & 0x04:
            course = reader.uint(1) * 360.0 / 256
        if mask & 0x08:
            speed = float(reader.uint(1))
        if mask & 0x10:
            satellites = reader.uint(1)
            attributes["satellites"] = satellites
        if mask & 0x20:
            attributes["lac"] = reader.uint(2)
            attributes["cell_id"] = reader.uint(2)
        if mask & 0x40:
            attributes["rssi"] = reader.uint(1)
        if mask & 0x80:
            attributes["operator"] = reader.uint(4)
    elements: dict[int, tuple[int | bytes, int]] = {}
    for bit, size in ((0x02, 1), (0x04, 2), (0x08, 4)):
        if global_mask & bit:
            for _ in range(reader.uint(1)):
                io_id = reader.uint(1)
                elements[io_id] = (reader.uint(size), size)
    for io_id, (value, _size) in elements.items():
        attributes[f"io{io_id}"] = value

    valid = fix is not None and satellites != 0 and fix != (0.0, 0.0)
    if valid:
        session.last_fix = fix
    fix = fix if fix is not None else session.last_fix
    if fix is None:  # nothing to place it on the map with; the record is still acknowledged
        return None
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=fix[0],
        longitude=fix[1],
        valid=valid,
        speed_kmh=speed,
        course=course,
        altitude=altitude,
        alarms=("sos",) if priority == PRIORITY_PANIC else (),
        attributes=attributes,
    )


RECORD_CODECS = (CODEC_8, CODEC_8_EXT, CODEC_16, CODEC_GH3000)


# Names from Teltonika's FMB AVL ID list; the raw value stays under "io<id>" as well.
_FLAGS = {1: "din1", 2: "din2", 3: "din3", 179: "dout1", 180: "dout2",
          239: "ignition", 240: "motion"}  # fmt: skip
_SCALED = {66: ("power", 0.001), 67: ("battery", 0.001), 9: ("adc1", 0.001), 6: ("adc2", 0.001),
           181: ("pdop", 0.1), 182: ("hdop", 0.1)}  # fmt: skip
_PLAIN = {21: "rssi", 16: "odometer_m", 199: "trip_odometer_m", 69: "gnss_status",
          200: "sleep_mode", 241: "operator", 205: "cell_id", 206: "lac"}  # fmt: skip
_SIGNED_SCALED = {17: ("axis_x", 1), 18: ("axis_y", 1), 19: ("axis_z", 1),
                  72: ("temp1", 0.1), 73: ("temp2", 0.1), 74: ("temp3", 0.1), 75: ("temp4", 0.1),
                  10800: ("eye_temp1", 0.01), 10801: ("eye_temp2", 0.01),
                  10802: ("eye_temp3", 0.01), 10803: ("eye_temp4", 0.01)}  # fmt: skip
IBUTTON = 78

# An event element with a non-zero value that means an alarm: (io id, value or None for any).
_EVENT_ALARMS = {
    (247, None): "accident",
    (246, 1): "tow",
    (252, 1): "power_cut",
    (253, 1): "hard_acceleration",
    (253, 2): "hard_braking",
    (253, 3): "hard_cornering",
    (255, None): "overspeed",
    (318, 2): "jamming",
}


def _io_attributes(elements: dict[int, tuple[int | bytes, int]]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for io_id, (value, size) in elements.items():
        if isinstance(value, bytes):
            attributes[f"io{io_id}"] = value.hex()
            continue
        attributes[f"io{io_id}"] = value
        if io_id in _FLAGS:
            attributes[_FLAGS[io_id]] = value > 0
        elif io_id in _SCALED:
            name, scale = _SCALED[io_id]
            attributes[name] = round(value * scale, 3)
        elif io_id in _PLAIN:
            attributes[_PLAIN[io_id]] = value
        elif io_id in _SIGNED_SCALED:
            name, scale = _SIGNED_SCALED[io_id]
            signed = value - (1 << (8 * size)) if value >> (8 * size - 1) else value
            attributes[name] = round(signed * scale, 3) if scale != 1 else signed
        elif io_id == IBUTTON and value:
            attributes["driver_unique_id"] = f"{value:016X}"
    return attributes


def _alarms(priority: int, event_io: int, elements: dict[int, Any]) -> tuple[str, ...]:
    alarms = ["sos"] if priority == PRIORITY_PANIC else []
    value = elements.get(event_io, (0, 0))[0]
    if event_io and isinstance(value, int) and value:
        alarm = _EVENT_ALARMS.get((event_io, value)) or _EVENT_ALARMS.get((event_io, None))
        if alarm and alarm not in alarms:
            alarms.append(alarm)
    return tuple(alarms)


def _decode_command_codec(data: bytes, unique_id: str) -> Decoded:
    """Codec 12/13/14 answers: one typed payload between two quantity bytes."""
    if len(data) < 8:
        raise _Malformed("malformed", "command frame too short")
    codec, quantity, kind = data[0], data[1], data[2]
    size = int.from_bytes(data[3:7], "big")
    payload = data[7:-1]
    if quantity != data[-1] or size != len(payload):
        raise _Malformed("malformed", "command size or quantity does not match")
    if codec == CODEC_13:  # a four-second timestamp, then what the device says unprompted
        text = _text(payload[4:])
        return Decoded(messages=[CommandReply(PROTOCOL, unique_id, None, "message", text)])
    if codec == CODEC_14:
        if kind == MSG_WRONG_IMEI:
            return Decoded(messages=[CommandReply(PROTOCOL, unique_id, None, "wrong_imei")])
        payload = payload[8:]  # the IMEI the command was addressed to
    if kind == MSG_RESPONSE:
        return Decoded(messages=[CommandReply(PROTOCOL, unique_id, None, "ok", _text(payload))])
    if kind == MSG_CAMERA:
        return Decoded(rejected=Rejected("unsupported_message", "camera data (codec 12 type 0x0d)"))
    detail = f"codec 0x{codec:02x} type 0x{kind:02x}"
    return Decoded(rejected=Rejected("unsupported_message", detail))


def _text(payload: bytes) -> str:
    """Printable ASCII as text (trimmed), anything else as hex."""
    if all(32 <= byte < 127 or byte in b"\r\n\t" for byte in payload):
        return payload.decode("ascii").strip()
    return payload.hex()


def decode_udp(datagram: bytes, now: datetime) -> Decoded:
    """Decode one UDP datagram (it names its IMEI itself); never raises."""
    try:
        return _decode_udp(datagram, now)
    except _Malformed as error:
        return Decoded(rejected=Rejected(error.reason, error.detail))
    except Exception as error:  # the last guard, as for TCP
        return Decoded(rejected=Rejected("malformed", type(error).__name__))


def _decode_udp(datagram: bytes, now: datetime) -> Decoded:
    reader = _Reader(datagram)
    length = reader.uint(2)
    if length != len(datagram) - 2:
        return Decoded(rejected=Rejected("bad_length", f"says {length}, has {len(datagram) - 2}"))
    packet_id = reader.uint(2)
    reader.uint(1)  # a byte Teltonika calls unusable
    avl_packet_id = reader.uint(1)
    imei = reader.take(reader.uint(2))
    if not IMEI_PATTERN.fullmatch(imei):
        return Decoded(rejected=Rejected("bad_imei"))
    data = datagram[reader.pos :]
    if len(data) < MIN_DATA_SIZE or data[0] not in RECORD_CODECS:
        return Decoded(rejected=Rejected("unsupported_codec", data[:1].hex()))
    unique_id = imei.decode("ascii")
    count, positions = _decode_records(data, unique_id, Session(unique_id, True))
    decoded = keep_plausible(positions, now)
    decoded.replies.append(struct.pack(">HHBBB", 5, packet_id, 0x01, avl_packet_id, count))
    return decoded


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_command(command: Command, session: Session) -> bytes:
    """A Codec 12 command frame for a "custom" command: params {"text": ...} or {"hex": ...}."""
    if command.kind != "custom":
        raise ValueError(f"teltonika has no encoding for command kind {command.kind!r}")
    if "text" in command.params:
        payload = str(command.params["text"]).encode("ascii")
    elif "hex" in command.params:
        payload = bytes.fromhex(str(command.params["hex"]))
    else:
        raise ValueError('a teltonika custom command needs params "text" or "hex"')
    data = bytes([CODEC_12, 1, MSG_COMMAND]) + len(payload).to_bytes(4, "big") + payload + b"\x01"
    return PREAMBLE + len(data).to_bytes(4, "big") + data + crc16(data).to_bytes(4, "big")
