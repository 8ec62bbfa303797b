"""JT/T 808 (2011/2013/2019): framing, header, session, uplink decoding, replies and commands."""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field
from datetime import datetime

from camtel.messages import (
    Auth,
    Command,
    CommandReply,
    Heartbeat,
    Logout,
    MediaChunk,
    Position,
    Register,
    Rejected,
)
from camtel.protocols import jt808_parameters as parameters
from camtel.protocols.base import Decoded, keep_plausible, position_problem
from camtel.protocols.jt808_location import (
    BASIC_INFO_LENGTH,
    PROTOCOL,
    BodyError,
    decode_batch,
    decode_location,
    decode_lock_location,
)
from camtel.protocols.jt808_subpackages import (
    MAX_BYTES,
    MAX_PARTS,
    MAX_SETS,
    TIMEOUT_S,
    Joiner,
    Limits,
    Overflow,
)

# Uplink (terminal -> platform) message ids.
MSG_TERMINAL_RESPONSE = 0x0001
MSG_HEARTBEAT = 0x0002
MSG_TERMINAL_LOGOUT = 0x0003
MSG_TERMINAL_REGISTER = 0x0100
MSG_TERMINAL_AUTH = 0x0102
MSG_PARAMETERS_REPLY = 0x0104
MSG_LOCATION_REPORT = 0x0200
MSG_LOCATION_QUERY_REPLY = 0x0201
MSG_LOCATION_BATCH = 0x0704
MSG_MEDIA_EVENT = 0x0800
MSG_MEDIA_UPLOAD = 0x0801
MSG_PHOTO_REPLY = 0x0805
MSG_TRANSPARENT = 0x0900
#: Electronic-lock dialect (JT701-style): 1-byte serial, its own location layout.
MSG_LOCK_LOCATION = 0x5501
MSG_LOCK_LOCATION_BLIND = 0x5502
_SHORT_SERIAL_MESSAGES = {MSG_LOCK_LOCATION, MSG_LOCK_LOCATION_BLIND}
# Downlink (platform -> terminal) message ids.
MSG_GENERAL_RESPONSE = 0x8001
MSG_REGISTER_RESPONSE = 0x8100
MSG_SET_PARAMETERS = 0x8103
MSG_TERMINAL_CONTROL = 0x8105
MSG_LOCATE_NOW = 0x8201
MSG_TEXT = 0x8300
MSG_MEDIA_UPLOAD_RESPONSE = 0x8800
MSG_TAKE_PHOTO = 0x8801
MSG_TRANSPARENT_DOWN = 0x8900

# Results of the platform general response 0x8001.
RESULT_OK = 0
RESULT_FAILED = 1
RESULT_MESSAGE_ERROR = 2
RESULT_UNSUPPORTED = 3
#: Results of the terminal general response 0x0001 (4 only ever in alarm confirmations).
TERMINAL_RESULTS = {0: "ok", 1: "failed", 2: "invalid", 3: "unsupported", 4: "alarm_confirmed"}

MEDIA_KINDS = {0: "photo", 1: "audio", 2: "video"}
MEDIA_FORMATS = {0: "jpeg", 1: "tif", 2: "mp3", 3: "wav", 4: "wmv"}

FLAG = 0x7E
ESCAPE = 0x7D
ESCAPE_BYTE = b"\x7d"
_BODY_LENGTH_MASK = 0x03FF
_ENCRYPTION_SHIFT = 10
_SUBPACKAGE_BIT = 1 << 13
_VERSION_BIT = 1 << 14
_MAX_BODY = 1023


def escape(data: bytes) -> bytes:
    """Escape 0x7d and 0x7e inside a frame (header, body and checksum; no delimiters)."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo `escape`; a 0x7d before any other byte is kept as it is (the checksum judges)."""
    if ESCAPE_BYTE not in data:
        return bytes(data)  # the common case: nothing escaped
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ESCAPE and i + 1 < len(data) and data[i + 1] in (0x01, 0x02):
            out.append(ESCAPE if data[i + 1] == 0x01 else FLAG)
            i += 2
            continue
        out.append(byte)
        i += 1
    return bytes(out)


def checksum(data: bytes) -> int:
    """XOR of every byte of header and body."""
    # Folded as one integer, halving each round: a few big-int operations, not a loop per byte.
    size = len(data)
    value = int.from_bytes(data, "little")
    while size > 1:
        half = (size + 1) // 2
        bits = 8 * half
        value = (value & ((1 << bits) - 1)) ^ (value >> bits)
        size = half
    return value


class FrameSplitter:
    """Cut a TCP byte stream into un-escaped 0x7e…0x7e frames, dropping bytes between frames."""

    def __init__(self, max_buffer: int = 64 * 1024) -> None:
        self.max_buffer = max_buffer
        self.dropped_bytes = 0  # bytes thrown away because the buffer grew past max_buffer
        self.garbage_bytes = 0  # bytes before a frame start (other protocols, line noise)
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the stream; return every frame completed by them."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            start = self._buffer.find(FLAG)
            if start < 0:
                self.garbage_bytes += len(self._buffer)
                self._buffer.clear()
                break
            if start:
                self.garbage_bytes += start
                del self._buffer[:start]
            end = self._buffer.find(FLAG, 1)
            if end < 0:
                break
            if end == 1:
                # "7e 7e": the end of a frame we never saw the start of, then a new start.
                self.garbage_bytes += 1
                del self._buffer[:1]
                continue
            frames.append(bytes([FLAG]) + unescape(bytes(self._buffer[1:end])) + bytes([FLAG]))
            del self._buffer[: end + 1]
        if len(self._buffer) > self.max_buffer:
            self.dropped_bytes += len(self._buffer)
            self._buffer.clear()
        return frames


@dataclass(frozen=True, slots=True)
class Header:
    """The message header of one frame."""

    message_id: int
    body_length: int
    encryption: int
    version_2019: bool
    protocol_version: int | None
    phone: bytes
    serial: int
    package_total: int | None = None
    package_index: int | None = None

    @property
    def unique_id(self) -> str:
        """The terminal phone number as its BCD digits, leading zeros kept."""
        return self.phone.hex()


class HeaderError(ValueError):
    """The header is shorter than its own flags say."""


def parse_header(data: bytes) -> tuple[Header, bytes]:
    """Split un-escaped header+body (no delimiters, no checksum) into a Header and the body."""
    if len(data) < 4:
        raise HeaderError("shorter than id and properties")
    message_id, properties = struct.unpack_from(">HH", data)
    short_serial = message_id in _SHORT_SERIAL_MESSAGES
    if short_serial:
        # The lock dialect uses the upper property bits for itself; only the length is standard.
        properties &= _BODY_LENGTH_MASK
    version_2019 = bool(properties & _VERSION_BIT)
    subpackage = bool(properties & _SUBPACKAGE_BIT)
    offset = 4
    protocol_version = None
    if version_2019:
        protocol_version, phone_size = data[offset] if len(data) > offset else 0, 10
        offset += 1
    else:
        phone_size = 6
    serial_size = 1 if short_serial else 2
    needed = offset + phone_size + serial_size + (4 if subpackage else 0)
    if len(data) < needed:
        raise HeaderError(f"header needs {needed} bytes, frame has {len(data)}")
    phone = data[offset : offset + phone_size]
    offset += phone_size
    serial = int.from_bytes(data[offset : offset + serial_size], "big")
    offset += serial_size
    total = index = None
    if subpackage:
        total, index = struct.unpack_from(">HH", data, offset)
        offset += 4
    header = Header(
        message_id=message_id,
        body_length=properties & _BODY_LENGTH_MASK,
        encryption=properties >> _ENCRYPTION_SHIFT & 0x7,
        version_2019=version_2019,
        protocol_version=protocol_version,
        phone=bytes(phone),
        serial=serial,
        package_total=total,
        package_index=index,
    )
    return header, bytes(data[offset:])


@dataclass(slots=True)
class Session:
    """Per-connection state: who the terminal is, its header version, serials, reassembly."""

    unique_id: str = ""
    version: int = 2013
    protocol_version: int = 1
    next_serial: int = 0
    tz_offset_hours: float = 8.0
    #: Bounds of sub-package joining (`jt808_subpackages`): bytes held, parts announced by one
    #: message, messages waiting at once, seconds without a new part.
    max_reassembly_bytes: int = MAX_BYTES
    max_reassembly_parts: int = MAX_PARTS
    max_reassembly_sets: int = MAX_SETS
    reassembly_timeout_s: float = TIMEOUT_S
    #: When set, auth codes are checked against auth_code(unique_id, auth_secret).
    auth_secret: bytes | None = None
    _joiner: Joiner[Header] = field(default_factory=Joiner, repr=False)

    def take_serial(self) -> int:
        """The serial for the next downlink frame."""
        serial = self.next_serial
        self.next_serial = (serial + 1) & 0xFFFF
        return serial

    @property
    def reassembly_bytes(self) -> int:
        """Bytes held for messages still waiting for sub-packages."""
        return self._joiner.held_bytes

    @property
    def evicted_assemblies(self) -> int:
        """Incomplete messages dropped: timed out, replaced by a new one, or to make room."""
        return self._joiner.evicted

    @property
    def reassembly_limits(self) -> Limits:
        """The bounds above, as sub-package joining takes them."""
        return Limits(
            max_bytes=self.max_reassembly_bytes,
            max_parts=self.max_reassembly_parts,
            max_sets=self.max_reassembly_sets,
            timeout_s=self.reassembly_timeout_s,
        )


def auth_code(unique_id: str, secret: bytes = b"") -> str:
    """The auth code a terminal gets at registration: deterministic, not guessable with a secret."""
    return hmac.new(secret, unique_id.encode(), hashlib.sha256).hexdigest()[:16]


def _phone_bytes(unique_id: str, version_2019: bool) -> bytes:
    size = 10 if version_2019 else 6
    raw = bytes.fromhex(unique_id if len(unique_id) % 2 == 0 else "0" + unique_id)
    if len(raw) < size:
        return bytes(size - len(raw)) + raw
    if len(raw) > size and not any(raw[: len(raw) - size]):
        return raw[len(raw) - size :]
    if len(raw) != size:
        raise ValueError(f"terminal id {unique_id!r} does not fit a {size}-byte header")
    return raw


def build_frame(message_id: int, body: bytes, session: Session) -> bytes:
    """A complete downlink frame: header in the session's version, checksum, escapes, 0x7e."""
    if len(body) > _MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes needs sub-packages, which are not sent")
    version_2019 = session.version >= 2019
    properties = len(body) | (_VERSION_BIT if version_2019 else 0)
    header = struct.pack(">HH", message_id, properties)
    if version_2019:
        header += bytes([session.protocol_version & 0xFF])
    header += _phone_bytes(session.unique_id, version_2019)
    header += struct.pack(">H", session.take_serial())
    data = header + body
    return bytes([FLAG]) + escape(data + bytes([checksum(data)])) + bytes([FLAG])


def general_response(session: Session, serial: int, message_id: int, result: int) -> bytes:
    """Platform general response 0x8001 to one uplink frame."""
    return build_frame(
        MSG_GENERAL_RESPONSE, struct.pack(">HHB", serial, message_id, result), session
    )


@dataclass(slots=True)
class _Uplink:
    """One uplink message being decoded, with what the handlers need to answer it."""

    header: Header
    body: bytes
    session: Session
    now: datetime
    acked: bool = False  # already acknowledged per sub-package

    def ack(self, result: int = RESULT_OK) -> list[bytes]:
        if self.acked:
            return []
        return [general_response(self.session, self.header.serial, self.header.message_id, result)]


def check(frame: bytes) -> tuple[Header, bytes] | Rejected:
    """The header and body of an un-escaped 0x7e…0x7e frame whose checksum holds, or why not."""
    if len(frame) < 2 or frame[0] != FLAG or frame[-1] != FLAG:
        return Rejected("not_jt808_frame")
    inner = frame[1:-1]
    if len(inner) < 13:
        return Rejected("too_short", f"{len(inner)} bytes")
    if checksum(inner[:-1]) != inner[-1]:
        # No reply: the terminal resends what it did not see acknowledged.
        return Rejected("bad_checksum")
    try:
        return parse_header(inner[:-1])
    except HeaderError as exc:
        return Rejected("bad_header", str(exc))


def decode(
    frame: bytes,
    session: Session,
    now: datetime,
    checked: tuple[Header, bytes] | Rejected | None = None,
) -> Decoded:
    """Decode one un-escaped 0x7e…0x7e frame; never raises, whatever the bytes. `checked` is
    what `check` said of this very frame, when the caller already asked (a gateway reads the
    header first to know the terminal): then it is not checked twice."""
    try:
        return _decode(frame, session, now, checked)
    except Exception as exc:
        return Decoded(rejected=Rejected("malformed", type(exc).__name__))


def _decode(
    frame: bytes, session: Session, now: datetime, checked: tuple[Header, bytes] | Rejected | None
) -> Decoded:
    if checked is None:
        checked = check(frame)
    if isinstance(checked, Rejected):
        return Decoded(rejected=checked)
    header, body = checked
    # The body length field is not checked against the bytes present: the checksum already
    # vouches for them, and captured devices miscount it (one vector says 122 for 107 bytes).
    session.unique_id = header.unique_id
    session.version = 2019 if header.version_2019 else 2013
    if header.protocol_version is not None:
        session.protocol_version = header.protocol_version
    session._joiner.expire(now, session.reassembly_timeout_s)
    uplink = _Uplink(header, body, session, now)
    if header.package_total is not None:
        return _reassemble(uplink)
    return _dispatch(uplink)


def _dispatch(uplink: _Uplink) -> Decoded:
    handler = _HANDLERS.get(uplink.header.message_id)
    if handler is None:
        detail = f"0x{uplink.header.message_id:04x}"
        return Decoded(
            replies=uplink.ack(RESULT_UNSUPPORTED), rejected=Rejected("unsupported_message", detail)
        )
    if uplink.header.encryption:
        # RSA bodies need a key exchange (0x0A00/0x8A00) that camtel does not do.
        return Decoded(replies=uplink.ack(RESULT_UNSUPPORTED), rejected=Rejected("encrypted"))
    try:
        return handler(uplink)
    except (BodyError, struct.error, IndexError, ValueError) as exc:
        # The checksum was right, so a resend would be the same: tell the device "message error".
        return Decoded(
            replies=uplink.ack(RESULT_MESSAGE_ERROR),
            rejected=Rejected("malformed_body", f"{type(exc).__name__}: {exc}"[:120]),
        )


def _reassemble(uplink: _Uplink) -> Decoded:
    header, session = uplink.header, uplink.session
    total, index = header.package_total or 0, header.package_index or 0
    if not 1 <= index <= total:
        return Decoded(rejected=Rejected("bad_subpackage", f"{index}/{total}"))
    ack = general_response(session, header.serial, header.message_id, RESULT_OK)
    added = session._joiner.add(
        message_id=header.message_id,
        total=total,
        index=index,
        serial=header.serial,
        body=uplink.body,
        header=header,
        now=uplink.now,
        limits=session.reassembly_limits,
    )
    if isinstance(added, Overflow):
        return Decoded(replies=[ack], rejected=Rejected("reassembly_overflow", added.detail))
    if added is None:
        return Decoded(replies=[ack])
    first, body = added  # the first package's header describes the whole message
    result = _dispatch(_Uplink(first, body, session, uplink.now, acked=True))
    result.replies.insert(0, ack)
    return result


def _text(raw: bytes) -> str:
    """A fixed-size or trailing string field: GBK, padding NULs and spaces removed."""
    return raw.split(b"\x00", 1)[0].decode("gbk", errors="replace").strip()


def _on_register(uplink: _Uplink) -> Decoded:
    body, session = uplink.body, uplink.session
    if uplink.header.version_2019:
        sizes = (11, 30, 30)
    elif len(body) >= 37:
        sizes = (5, 20, 7)
    else:
        sizes = (5, 8, 7)  # 2011: shorter model field
    province, city = struct.unpack_from(">HH", body)
    offset = 4
    fields = []
    for size in sizes:
        fields.append(_text(body[offset : offset + size]))
        offset += size
    if len(body) <= offset:
        raise BodyError("register body too short")
    color = body[offset]
    message = Register(
        protocol=PROTOCOL,
        unique_id=uplink.header.unique_id,
        manufacturer=fields[0],
        model=fields[1],
        terminal_id=fields[2],
        plate=_text(body[offset + 1 :]),
        attributes={"province": province, "city": city, "plate_color": color},
    )
    code = auth_code(uplink.header.unique_id, session.auth_secret or b"")
    reply_body = struct.pack(">HB", uplink.header.serial, RESULT_OK) + code.encode()
    return Decoded(
        messages=[message], replies=[build_frame(MSG_REGISTER_RESPONSE, reply_body, session)]
    )


def _on_auth(uplink: _Uplink) -> Decoded:
    body, unique_id = uplink.body, uplink.header.unique_id
    imei = software = ""
    if uplink.header.version_2019:
        size = body[0]
        if len(body) < 1 + size:
            raise BodyError("auth code longer than body")
        code = _text(body[1 : 1 + size])
        imei = _text(body[1 + size : 16 + size])
        software = _text(body[16 + size : 36 + size])
    else:
        code = _text(body)
    secret = uplink.session.auth_secret
    if secret is not None and not hmac.compare_digest(code, auth_code(unique_id, secret)):
        return Decoded(replies=uplink.ack(RESULT_FAILED), rejected=Rejected("bad_auth_code"))
    message = Auth(PROTOCOL, unique_id, code=code, imei=imei, software_version=software)
    return Decoded(messages=[message], replies=uplink.ack())


def _on_heartbeat(uplink: _Uplink) -> Decoded:
    return Decoded(messages=[Heartbeat(PROTOCOL, uplink.header.unique_id)], replies=uplink.ack())


def _on_logout(uplink: _Uplink) -> Decoded:
    return Decoded(messages=[Logout(PROTOCOL, uplink.header.unique_id)], replies=uplink.ack())


def _location(uplink: _Uplink, body: bytes, with_items: bool = True) -> Position:
    return decode_location(
        body,
        uplink.header.unique_id,
        uplink.session.tz_offset_hours,
        serial=uplink.header.serial,
        with_items=with_items,
    )


def _on_location(uplink: _Uplink) -> Decoded:
    decoded = keep_plausible([_location(uplink, uplink.body)], uplink.now)
    decoded.replies = uplink.ack()
    return decoded


def _on_lock_location(uplink: _Uplink) -> Decoded:
    header = uplink.header
    position = decode_lock_location(uplink.body, header.unique_id, serial=header.serial)
    position.attributes["blind_area"] = header.message_id == MSG_LOCK_LOCATION_BLIND
    decoded = keep_plausible([position], uplink.now)
    decoded.replies = uplink.ack()
    return decoded


def _on_location_query_reply(uplink: _Uplink) -> Decoded:
    (answered,) = struct.unpack_from(">H", uplink.body)
    decoded = keep_plausible([_location(uplink, uplink.body[2:])], uplink.now)
    decoded.messages.append(CommandReply(PROTOCOL, uplink.header.unique_id, answered, "ok"))
    return decoded


def _on_location_batch(uplink: _Uplink) -> Decoded:
    header, tz = uplink.header, uplink.session.tz_offset_hours
    found = decode_batch(uplink.body, header.unique_id, tz, serial=header.serial)
    decoded = keep_plausible(found, uplink.now)
    decoded.replies = uplink.ack()
    return decoded


def _on_media_event(uplink: _Uplink) -> Decoded:
    if len(uplink.body) < 8:
        raise BodyError("media event body too short")
    return Decoded(replies=uplink.ack())


def _on_media_upload(uplink: _Uplink) -> Decoded:
    body = uplink.body
    media_id, kind, fmt, event, channel = struct.unpack_from(">IBBBB", body)
    # 2011 terminals send the data right after these 8 bytes; 2013+ put a location block first.
    position = None
    data_offset = 8
    if body[8:10] != b"\xff\xd8" and len(body) >= 8 + BASIC_INFO_LENGTH:
        data_offset += BASIC_INFO_LENGTH
        try:
            candidate = _location(uplink, body[8:data_offset], with_items=False)
        except BodyError:
            candidate = None
        if candidate is not None and position_problem(candidate, uplink.now) is None:
            position = candidate
    chunk = MediaChunk(
        protocol=PROTOCOL,
        unique_id=uplink.header.unique_id,
        media_id=media_id,
        kind=MEDIA_KINDS.get(kind, f"type_{kind}"),
        format=MEDIA_FORMATS.get(fmt, f"format_{fmt}"),
        channel=channel,
        event=event,
        data=body[data_offset:],
        position=position,
    )
    reply = build_frame(MSG_MEDIA_UPLOAD_RESPONSE, struct.pack(">IB", media_id, 0), uplink.session)
    return Decoded(messages=[chunk], replies=[reply])


def _on_transparent(uplink: _Uplink) -> Decoded:
    message = CommandReply(
        PROTOCOL, uplink.header.unique_id, None, "transparent", text=uplink.body.hex()
    )
    return Decoded(messages=[message], replies=uplink.ack())


def _on_terminal_response(uplink: _Uplink) -> Decoded:
    answered, message_id, result = struct.unpack_from(">HHB", uplink.body)
    reply = CommandReply(
        PROTOCOL,
        uplink.header.unique_id,
        answered,
        TERMINAL_RESULTS.get(result, f"result_{result}"),
        text=f"0x{message_id:04x}",
    )
    return Decoded(messages=[reply])


def _on_parameters_reply(uplink: _Uplink) -> Decoded:
    answered, count = struct.unpack_from(">HB", uplink.body)
    text = parameters.describe(parameters.decode_list(uplink.body, 3, count))
    return Decoded(messages=[CommandReply(PROTOCOL, uplink.header.unique_id, answered, "ok", text)])


def _on_photo_reply(uplink: _Uplink) -> Decoded:
    answered, result = struct.unpack_from(">HB", uplink.body)
    ids: list[int] = []
    if result == 0 and len(uplink.body) >= 5:
        (count,) = struct.unpack_from(">H", uplink.body, 3)
        ids = [struct.unpack_from(">I", uplink.body, 5 + 4 * i)[0] for i in range(count)]
    names = {0: "ok", 1: "failed", 2: "unsupported"}
    text = ",".join(str(media_id) for media_id in ids)
    reply = CommandReply(
        PROTOCOL, uplink.header.unique_id, answered, names.get(result, f"result_{result}"), text
    )
    return Decoded(messages=[reply])


_HANDLERS = {
    MSG_TERMINAL_RESPONSE: _on_terminal_response,
    MSG_HEARTBEAT: _on_heartbeat,
    MSG_TERMINAL_LOGOUT: _on_logout,
    MSG_TERMINAL_REGISTER: _on_register,
    MSG_TERMINAL_AUTH: _on_auth,
    MSG_PARAMETERS_REPLY: _on_parameters_reply,
    MSG_LOCATION_REPORT: _on_location,
    MSG_LOCATION_QUERY_REPLY: _on_location_query_reply,
    MSG_LOCATION_BATCH: _on_location_batch,
    MSG_MEDIA_EVENT: _on_media_event,
    MSG_MEDIA_UPLOAD: _on_media_upload,
    MSG_PHOTO_REPLY: _on_photo_reply,
    MSG_TRANSPARENT: _on_transparent,
    MSG_LOCK_LOCATION: _on_lock_location,
    MSG_LOCK_LOCATION_BLIND: _on_lock_location,
}


def encode_command(command: Command, session: Session) -> bytes:
    """One downlink frame for a command; raises ValueError for commands it cannot express."""
    params = command.params
    if command.kind == "set_parameters":
        body = parameters.encode_list(params["parameters"])
        return build_frame(MSG_SET_PARAMETERS, body, session)
    if command.kind == "terminal_control":
        body = bytes([params["command"]]) + str(params.get("argument", "")).encode("gbk")
        return build_frame(MSG_TERMINAL_CONTROL, body, session)
    if command.kind == "locate":
        return build_frame(MSG_LOCATE_NOW, b"", session)
    if command.kind == "text":
        # Default flags: show on the terminal display (bit 2) and read aloud by TTS (bit 3).
        flags = params.get("flags", 0x0C)
        return build_frame(MSG_TEXT, bytes([flags]) + params["text"].encode("gbk"), session)
    if command.kind == "photo":
        body = struct.pack(
            ">BHHBBBBBBB",
            params.get("channel", 1),
            params.get("count", 1),
            params.get("interval_s", 0),
            1 if params.get("save", False) else 0,
            params.get("resolution", 0x02),  # 640x480
            params.get("quality", 5),  # 1 best … 10 smallest
            params.get("brightness", 128),
            params.get("contrast", 64),
            params.get("saturation", 64),
            params.get("chroma", 128),
        )
        return build_frame(MSG_TAKE_PHOTO, body, session)
    if command.kind == "custom":
        body = params.get("body", b"")
        if isinstance(body, str):
            body = bytes.fromhex(body)
        return build_frame(params["message_id"], body, session)
    raise ValueError(f"jt808 cannot encode command kind {command.kind!r}")
