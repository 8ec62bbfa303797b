"""JT/T 808: captured frames from the shared vectors, hand-built frames, replies and commands."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camtel.messages import (
    Auth,
    Command,
    CommandReply,
    Heartbeat,
    MediaChunk,
    Position,
    Register,
    Rejected,
)
from camtel.protocols import jt808
from camtel.protocols.base import Decoded, position_problem
from helpers.env import load_vectors

#: A fixed "server clock" a little after the newest capture, so the future check is exercised.
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PHONE = bytes.fromhex("013912345678")

POSITION_CHECKS = {"verifyPosition", "verifyPositions", "verifyAttribute", "verifyAttributes"}
POSITION_CHECKS |= {"verifyNotNull"}

# Rows of jt808.tsv (0-based) that camtel deliberately does not turn into a Position.
#: XOR checksum wrong (the README counts four 0x0200 frames; row 33, a lock frame, is a fifth).
BAD_CHECKSUM_ROWS = {33, 58, 87, 108, 109}
#: Not 0x7e-framed: the ASCII "(...)" sub-protocol of some locks, which camtel does not speak.
ASCII_ROWS = {52, 67}
#: Vendor or rarely used ids camtel answers "unsupported" (0x8001 result 3): driver identity
#: 0x0702 and waybill 0x0701 (personal data camtel does not collect), terminal attributes 0x0107,
#: and vendor ids 0x0210, 0x1007, 0x1300, 0x2070, 0x6006.
UNSUPPORTED_ROWS = {7, 17, 23, 48, 60, 68, 99, 100, 101}
#: 0x0900 transparent data: the vendor payload is passed on as hex in a CommandReply.
TRANSPARENT_ROWS = {19, 22, 39, 45, 54, 111, 112}


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def make_frame(
    message_id: int,
    body: bytes,
    *,
    phone: bytes = PHONE,
    serial: int = 1,
    package: tuple[int, int] | None = None,
    version_2019: int | None = None,
    encryption: int = 0,
) -> bytes:
    """Build an un-escaped uplink frame by hand, independently of the module under test."""
    properties = len(body) | encryption << 10
    header = b""
    if version_2019 is not None:
        properties |= 1 << 14
        header += bytes([version_2019])
    if package is not None:
        properties |= 1 << 13
    header = struct.pack(">HH", message_id, properties) + header + phone + struct.pack(">H", serial)
    if package is not None:
        header += struct.pack(">HH", *package)
    data = header + body
    return b"\x7e" + data + bytes([xor(data)]) + b"\x7e"


def location_body(
    *,
    lat: int = 22_543_210,
    lon: int = 114_057_890,
    status: int = 0x2,
    alarm: int = 0,
    time: str = "260315123000",
    items: bytes = b"",
) -> bytes:
    return (
        struct.pack(">IIIIhHH", alarm, status, lat, lon, 50, 600, 90) + bytes.fromhex(time) + items
    )


def read_reply(reply: bytes) -> tuple[jt808.Header, bytes]:
    """Check the frame of a reply (delimiters, escapes, checksum) and return header and body."""
    assert reply[0] == 0x7E and reply[-1] == 0x7E
    assert 0x7E not in reply[1:-1]
    inner = jt808.unescape(reply[1:-1])
    assert xor(inner[:-1]) == inner[-1], "reply checksum"
    return jt808.parse_header(inner[:-1])


def decode(frame: bytes, session: jt808.Session | None = None, now: datetime = NOW) -> Decoded:
    return jt808.decode(frame, session or jt808.Session(), now)


def positions(decoded: Decoded) -> list[Position]:
    return [m for m in decoded.messages if isinstance(m, Position)]


def vector_bytes(message: str) -> bytes:
    try:
        return bytes.fromhex(message)
    except ValueError:
        return message.encode()


@pytest.fixture(scope="module")
def rows(testdata):
    return load_vectors(testdata, "jt808.tsv")


# --- the shared captured frames -------------------------------------------------------------


def test_all_113_vectors_are_loaded(rows):
    assert len(rows) == 113


def test_bad_checksum_rows_are_the_ones_whose_xor_is_wrong(rows):
    wrong = {
        i
        for i, (message, _, _) in enumerate(rows)
        if message[:2].lower() == "7e"
        and xor(bytes.fromhex(message)[1:-2]) != bytes.fromhex(message)[-2]
    }
    assert wrong == BAD_CHECKSUM_ROWS


def test_every_vector_decodes_or_is_rejected_by_name(rows):
    for i, (message, check, _) in enumerate(rows):
        decoded = decode(vector_bytes(message))
        found = positions(decoded)
        for position in found:
            assert position_problem(position, NOW) is None, (i, position)
            assert position.time.tzinfo is not None
        if i in BAD_CHECKSUM_ROWS:
            assert decoded == Decoded(rejected=Rejected("bad_checksum")), i
        elif i in ASCII_ROWS:
            assert decoded == Decoded(rejected=Rejected("not_jt808_frame")), i
        elif i in UNSUPPORTED_ROWS:
            assert decoded.rejected is not None and decoded.rejected.reason == "unsupported_message"
            assert not decoded.messages, i
            header, body = read_reply(decoded.replies[0])
            assert header.message_id == jt808.MSG_GENERAL_RESPONSE
            assert body[-1] == 3, i
        elif i in TRANSPARENT_ROWS:
            assert decoded.rejected is None, i
            (reply,) = decoded.messages
            assert isinstance(reply, CommandReply) and reply.result == "transparent"
            assert reply.text == bytes.fromhex(message)[13:-2].hex()
        elif check in POSITION_CHECKS:
            assert decoded.rejected is None, (i, decoded.rejected)
            assert found, i
            assert decoded.replies, i
        else:
            assert check == "verifyNull", i
            assert decoded.rejected is None, (i, decoded.rejected)
            assert not found and decoded.messages, i
            assert decoded.replies, i


def test_bad_checksum_gets_no_reply_and_good_checksum_of_same_frame_decodes(rows):
    frame = bytearray(bytes.fromhex(rows[108][0]))
    assert decode(bytes(frame)).replies == []
    frame[-2] = xor(frame[1:-2])
    assert len(positions(decode(bytes(frame)))) == 1


def test_blind_area_batch_time_converted_from_utc_plus_8(rows):
    decoded = decode(bytes.fromhex(rows[0][0]))
    (position,) = positions(decoded)
    # BCD 26-08-17 22:18:12 in the device's UTC+8.
    assert position.time == datetime(2026, 8, 17, 14, 18, 12, tzinfo=UTC)
    assert position.latitude == pytest.approx(33.697808)
    assert position.longitude == pytest.approx(116.954088)
    assert position.attributes["satellites"] == 14
    assert position.attributes["blind_area"] is True
    assert position.altitude == 29 and position.course == 149 and position.valid
    assert set(position.alarms) == {"power_cut", "driving_time_exceeded"}  # 0x00040100
    assert position.unique_id == "014450376202"


def test_time_zone_comes_from_the_session(rows):
    session = jt808.Session(tz_offset_hours=0)
    (position,) = positions(decode(bytes.fromhex(rows[0][0]), session))
    assert position.time == datetime(2026, 8, 17, 22, 18, 12, tzinfo=UTC)


def test_2019_batch_south_latitude_and_20_digit_id(rows):
    session = jt808.Session()
    decoded = decode(bytes.fromhex(rows[5][0]), session)
    (position,) = positions(decoded)
    assert position.unique_id == "00000866496077582164"
    assert position.latitude == pytest.approx(-27.263378)  # status bit 2: south
    assert position.longitude == pytest.approx(153.037383)
    assert position.time == datetime(2026, 5, 9, 8, 42, 27, tzinfo=UTC)
    assert position.attributes["satellites"] == 14
    assert position.attributes["blind_area"] is False
    assert session.version == 2019
    header, body = read_reply(decoded.replies[0])
    assert header.version_2019 and header.protocol_version == 1
    assert header.unique_id == "00000866496077582164"
    assert body == struct.pack(">HHB", 0x881D, 0x0704, 0)


def test_batch_of_six_positions(rows):
    found = positions(decode(bytes.fromhex(rows[12][0])))
    assert len(found) == 6
    assert [p.time.second for p in found] == [45, 47, 59, 14, 17, 32]


def test_invalid_fix_at_zero_zero_is_kept_as_invalid(rows):
    (position,) = positions(decode(bytes.fromhex(rows[1][0])))
    assert (position.latitude, position.longitude, position.valid) == (0.0, 0.0, False)


def test_lock_dialect_location(rows):
    (position,) = positions(decode(bytes.fromhex(rows[44][0])))
    assert position.latitude == pytest.approx(-(29 + 53.8631 / 60))
    assert position.longitude == pytest.approx(31 + 1.5370 / 60)
    assert position.time == datetime(2023, 3, 7, 10, 30, 20, tzinfo=UTC)
    assert position.attributes["satellites"] == 12
    assert position.serial == 0x9A


def test_unknown_vector_items_are_kept_as_hex(rows):
    (position,) = positions(decode(bytes.fromhex(rows[104][0])))
    assert position.attributes["item_0xf7"] == "00000d6f003c"
    assert position.attributes["rssi"] == 17 and position.attributes["satellites"] == 8


# --- registration, auth, heartbeat, replies -------------------------------------------------


def test_register_reply_echoes_serial_and_carries_the_auth_code(rows):
    session = jt808.Session()
    decoded = decode(bytes.fromhex(rows[83][0]), session)
    (register,) = decoded.messages
    assert isinstance(register, Register) and register.unique_id == "014130567872"
    assert register.model == "BSJ-A6-BD"
    (reply,) = decoded.replies
    header, body = read_reply(reply)
    assert header.message_id == jt808.MSG_REGISTER_RESPONSE
    assert header.unique_id == "014130567872" and not header.version_2019
    assert header.serial == 0  # first downlink serial of the session
    assert body[:3] == struct.pack(">HB", 0x0024, 0)
    assert body[3:].decode() == jt808.auth_code("014130567872")


def test_2011_register_with_gbk_plate(rows):
    (register,) = decode(bytes.fromhex(rows[55][0])).messages
    assert (register.model, register.plate) == ("BSJ-M7B", "粤B88888")


def test_auth_code_is_deterministic_and_secret_dependent():
    assert jt808.auth_code("013912345678") == jt808.auth_code("013912345678")
    assert jt808.auth_code("013912345678") != jt808.auth_code("013912345679")
    assert jt808.auth_code("013912345678", b"a") != jt808.auth_code("013912345678", b"b")


def test_heartbeat_acknowledged_with_serial_and_id(rows):
    session = jt808.Session(next_serial=41)
    decoded = decode(bytes.fromhex(rows[92][0]), session)
    assert decoded.messages == [Heartbeat("jt808", "043048325465")]
    header, body = read_reply(decoded.replies[0])
    assert header.message_id == jt808.MSG_GENERAL_RESPONSE and header.serial == 41
    assert body == struct.pack(">HHB", 0x00B7, 0x0002, 0)
    assert session.next_serial == 42


def test_2019_auth_hand_built():
    code = b"ABCD1234"
    body = bytes([len(code)]) + code + b"867530912345678" + b"V1.2.3".ljust(20, b"\x00")
    phone = bytes.fromhex("00000000013912345678")
    decoded = decode(make_frame(0x0102, body, phone=phone, serial=7, version_2019=1))
    assert decoded.messages == [
        Auth("jt808", "00000000013912345678", "ABCD1234", "867530912345678", "V1.2.3")
    ]
    header, reply = read_reply(decoded.replies[0])
    assert header.version_2019 and header.phone == phone
    assert reply == struct.pack(">HHB", 7, 0x0102, 0)


def test_auth_checked_when_the_session_has_a_secret():
    session = jt808.Session(auth_secret=b"k")
    good = jt808.auth_code("013912345678", b"k").encode()
    assert isinstance(decode(make_frame(0x0102, good), session).messages[0], Auth)
    decoded = decode(make_frame(0x0102, b"guess"), session)
    assert decoded.rejected == Rejected("bad_auth_code") and not decoded.messages
    assert read_reply(decoded.replies[0])[1][-1] == 1


def test_terminal_response_and_parameter_reply():
    decoded = decode(make_frame(0x0001, struct.pack(">HHB", 5, 0x8103, 3)))
    assert decoded.messages == [CommandReply("jt808", "013912345678", 5, "unsupported", "0x8103")]
    assert decoded.replies == []
    body = struct.pack(">HB", 9, 2) + struct.pack(">IBI", 1, 4, 30) + struct.pack(">IB", 0x13, 4)
    (reply,) = decode(make_frame(0x0104, body + b"host")).messages
    assert (reply.serial, reply.text) == (9, "0x0001=30;0x0013=host")


def test_unknown_message_rejected_but_answered_unsupported():
    decoded = decode(make_frame(0x0F0F, b"\x01", serial=300))
    assert decoded.rejected == Rejected("unsupported_message", "0x0f0f")
    assert read_reply(decoded.replies[0])[1] == struct.pack(">HHB", 300, 0x0F0F, 3)


def test_malformed_body_answered_message_error():
    decoded = decode(make_frame(0x0200, b"\x00" * 10))
    assert decoded.rejected is not None and decoded.rejected.reason == "malformed_body"
    assert read_reply(decoded.replies[0])[1][-1] == 2


def test_encrypted_body_is_not_decoded():
    decoded = decode(make_frame(0x0200, location_body(), encryption=1))
    assert decoded.rejected == Rejected("encrypted") and not decoded.messages


# --- positions: flags, items, plausibility ---------------------------------------------------


def test_location_flags_and_items():
    items = (
        bytes.fromhex("0104000004d2")  # mileage 123.4 km
        + bytes.fromhex("02020064")  # fuel 10.0 l
        + bytes.fromhex("2504000000ff3001173101099902abcd")
        + bytes.fromhex("6420")
        + bytes.fromhex("0000000700020250320100000000")
        + bytes(18)
        + bytes.fromhex("652f")
        + bytes.fromhex("000000080003010000000000")
        + bytes(35)
    )
    body = location_body(status=0x2 | 0x1 | 0x8 | 1 << 13, alarm=1 | 1 << 29, items=items)
    (position,) = positions(decode(make_frame(0x0200, body)))
    assert position.longitude == pytest.approx(-114.05789)  # bit 3: west
    assert position.speed_kmh == 60.0 and position.course == 90 and position.altitude == 50
    assert position.time == datetime(2026, 3, 15, 4, 30, tzinfo=UTC)
    assert set(position.alarms) == {"sos", "collision", "adas_lane_departure", "dms_smoking"}
    attrs = position.attributes
    assert attrs["ignition"] and attrs["door1_open"] and not attrs["door2_open"]
    assert attrs["odometer_m"] == 123_400 and attrs["fuel_l"] == 10.0
    assert attrs["signal_status"] == 0xFF and attrs["rssi"] == 23 and attrs["satellites"] == 9
    assert attrs["item_0x99"] == "abcd"
    assert attrs["adas_alarm_id"] == 7 and attrs["adas_alarm_level"] == 2
    assert attrs["dms_alarm_id"] == 8


def test_implausible_valid_position_is_dropped_but_acknowledged():
    decoded = decode(make_frame(0x0200, location_body(lat=95_000_000)))
    assert decoded.messages == []
    assert decoded.rejected == Rejected("implausible_position:latitude_out_of_range")
    assert read_reply(decoded.replies[0])[1][-1] == 0  # no point in the device resending it


def test_implausible_position_dropped_even_without_fix():
    decoded = decode(make_frame(0x0200, location_body(lat=95_000_000, status=0)))
    assert decoded.messages == [] and decoded.rejected is not None


def test_future_time_dropped_from_a_batch_keeping_the_rest():
    good, future = location_body(), location_body(time="271231000000")
    body = struct.pack(">HB", 2, 0) + b"".join(
        struct.pack(">H", len(b)) + b for b in (good, future)
    )
    decoded = decode(make_frame(0x0704, body))
    assert len(positions(decoded)) == 1
    assert decoded.rejected == Rejected("implausible_position:time_in_future")


def test_non_bcd_time_is_a_malformed_body():
    decoded = decode(make_frame(0x0200, location_body(time="26131500ff00")))
    assert decoded.rejected is not None and decoded.rejected.reason == "malformed_body"


# --- multimedia and sub-packages ------------------------------------------------------------


def media_body(media_id: int = 77, data: bytes = b"\xff\xd8jpegdata\xff\xd9") -> bytes:
    return struct.pack(">IBBBB", media_id, 0, 0, 1, 2) + location_body() + data


def split_frames(message_id: int, body: bytes, parts: int, first_serial: int) -> list[bytes]:
    size = -(-len(body) // parts)
    return [
        make_frame(
            message_id,
            body[i * size : (i + 1) * size],
            serial=(first_serial + i) & 0xFFFF,
            package=(parts, i + 1),
        )
        for i in range(parts)
    ]


def test_single_media_upload():
    decoded = decode(make_frame(0x0801, media_body()))
    (chunk,) = decoded.messages
    assert isinstance(chunk, MediaChunk)
    assert (chunk.kind, chunk.format, chunk.event, chunk.channel) == ("photo", "jpeg", 1, 2)
    assert chunk.data == b"\xff\xd8jpegdata\xff\xd9" and chunk.position is not None
    header, body = read_reply(decoded.replies[0])
    assert header.message_id == jt808.MSG_MEDIA_UPLOAD_RESPONSE and body == struct.pack(
        ">IB", 77, 0
    )


def test_subpackages_reassembled_out_of_order_and_each_acknowledged():
    session = jt808.Session()
    body = media_body(data=bytes(range(256)) * 4)
    frames = split_frames(0x0801, body, 3, first_serial=0xFFFF)  # serials wrap around
    results = [decode(frames[i], session) for i in (2, 0, 1)]
    assert [r.messages for r in results[:2]] == [[], []]
    acked = [read_reply(r.replies[0]) for r in results]
    assert [(h.message_id, b[:4]) for h, b in acked] == [
        (0x8001, struct.pack(">HH", serial, 0x0801)) for serial in (1, 0xFFFF, 0)
    ]
    (chunk,) = results[2].messages
    assert chunk.data == bytes(range(256)) * 4
    assert read_reply(results[2].replies[1])[0].message_id == jt808.MSG_MEDIA_UPLOAD_RESPONSE
    assert session.reassembly_bytes == 0


def test_stale_subpackages_are_evicted():
    session = jt808.Session(reassembly_timeout_s=60)
    frames = split_frames(0x0801, media_body(), 2, first_serial=10)
    assert decode(frames[0], session).messages == []
    late = decode(frames[1], session, NOW + timedelta(seconds=61))
    assert late.messages == [] and late.replies  # acknowledged, but the first half is gone
    assert session.evicted_assemblies == 1
    assert session.reassembly_bytes == len(frames[1]) - 19  # only the second half is held


def test_reassembly_buffer_is_bounded():
    session = jt808.Session(max_reassembly_bytes=200)  # a message is 166 bytes, 83 a half
    first = split_frames(0x0900, b"\xf0" + bytes(165), 2, first_serial=1)  # one set per id
    second = split_frames(0x0801, media_body(media_id=78, data=bytes(130)), 2, first_serial=50)
    decode(first[0], session)
    decode(second[0], session, NOW + timedelta(seconds=1))
    assert session.reassembly_bytes == 166 and session.evicted_assemblies == 0
    # Completing the second would hold 249 bytes: the other (older) assembly makes room.
    (chunk,) = decode(second[1], session, NOW + timedelta(seconds=2)).messages
    assert chunk.media_id == 78
    assert session.evicted_assemblies == 1
    assert decode(first[1], session).messages == []  # its first half was evicted
    too_big = split_frames(0x0801, media_body(data=bytes(400)), 2, first_serial=90)
    assert decode(too_big[0], session).rejected == Rejected("reassembly_overflow", "218 bytes")
    assert session.reassembly_bytes == 0  # the lone first[1] went to make room, then too_big


def test_bad_subpackage_index():
    frame = make_frame(0x0801, b"x", package=(2, 3))
    assert decode(frame).rejected == Rejected("bad_subpackage", "3/2")


# --- framing ---------------------------------------------------------------------------------


def frame_pairs(testdata, suite):
    rows = [
        r for r in load_vectors(testdata, "frames_and_encoders.tsv") if r[2]["suite"] == suite
    ]
    return rows


def test_frame_decoder_vectors(testdata):
    rows = frame_pairs(testdata, "jt808-frame-decoder")
    pairs = [(rows[i + 1][0], rows[i][0]) for i in range(0, len(rows), 2)]
    assert all(rows[i][2]["role"] == "expected" for i in range(0, len(rows), 2))
    assert len(pairs) == 3
    for given_hex, expected_hex in pairs:
        splitter = jt808.FrameSplitter()
        frames = splitter.feed(bytes.fromhex(given_hex))
        if given_hex.startswith("28"):
            # The ASCII "(…)" lock sub-protocol is not JT/T 808: it is skipped as garbage.
            assert frames == [] and splitter.garbage_bytes == len(bytes.fromhex(given_hex))
        else:
            assert frames == [bytes.fromhex(expected_hex)]


def test_frame_encoder_vector(testdata):
    (row,) = frame_pairs(testdata, "jt808-frame-encoder")
    assert b"\x7e" + jt808.escape(bytes.fromhex("307e087d55")) + b"\x7e" == bytes.fromhex(row[0])


def test_splitter_across_chunks_and_several_per_chunk(rows):
    frames = [bytes.fromhex(rows[i][0]) for i in (0, 1, 92)]
    stream = b"".join(b"\x7e" + jt808.escape(f[1:-1]) + b"\x7e" for f in frames)
    assert jt808.FrameSplitter().feed(b"junk" + stream) == frames
    splitter = jt808.FrameSplitter()
    assert [f for i in range(len(stream)) for f in splitter.feed(stream[i : i + 1])] == frames


def test_splitter_buffer_is_bounded():
    splitter = jt808.FrameSplitter(max_buffer=16)
    assert splitter.feed(b"\x7e" + bytes(20)) == []
    assert splitter.dropped_bytes == 21
    heartbeat = make_frame(0x0002, b"")
    assert splitter.feed(heartbeat) == [heartbeat]


def test_escape_round_trip():
    data = bytes([0x7E, 0x7D, 0x01, 0x02, 0x7D, 0x02])
    assert jt808.unescape(jt808.escape(data)) == data
    assert 0x7E not in jt808.escape(data)


# --- commands ----------------------------------------------------------------------------------


def encoder_rows(testdata):
    return [r[0] for r in frame_pairs(testdata, "jt808-command-encoder")]


def test_command_encoder_vectors(testdata):
    expected = encoder_rows(testdata)
    commands = [
        Command("terminal_control", {"command": 0xF0}),
        Command("text", {"text": "Test, Command, 123#", "flags": 1}),
        Command("text", {"text": "Test, Command, 123#", "flags": 1}),
        Command("custom", {"message_id": 0x8900, "body": b"\xf0TEST"}),
    ]
    for command, frame in zip(commands, expected, strict=True):
        session = jt808.Session(unique_id="0b3a73ce2ff2")
        assert jt808.encode_command(command, session).hex() == frame


def test_set_parameters_locate_photo_and_2019_header():
    session = jt808.Session(unique_id="013912345678")
    params = {"parameters": {0x0013: "host", 0x0001: 30, 0x0031: 500}}
    header, body = read_reply(jt808.encode_command(Command("set_parameters", params), session))
    assert header.message_id == 0x8103 and header.serial == 0
    assert body == (
        bytes([3])
        + struct.pack(">IBI", 0x0001, 4, 30)
        + struct.pack(">IB", 0x0013, 4)
        + b"host"
        + struct.pack(">IBH", 0x0031, 2, 500)
    )
    header, body = read_reply(jt808.encode_command(Command("locate"), session))
    assert (header.message_id, header.serial, body) == (0x8201, 1, b"")
    photo = Command("photo", {"channel": 3, "count": 2, "interval_s": 5})
    header, body = read_reply(jt808.encode_command(photo, session))
    assert header.message_id == 0x8801 and body[:5] == struct.pack(">BHH", 3, 2, 5)
    session.version = 2019
    header, _ = read_reply(jt808.encode_command(Command("locate"), session))
    assert header.version_2019 and header.unique_id == "00000000013912345678"


def test_unknown_command_kind_raises():
    with pytest.raises(ValueError):
        jt808.encode_command(Command("reboot_the_moon"), jt808.Session(unique_id="01"))


# --- never raise -------------------------------------------------------------------------------


def check_decoded(decoded: Decoded) -> None:
    assert isinstance(decoded, Decoded)
    # "malformed" comes only from the last-resort guard: reaching it means a handler raised.
    assert decoded.rejected is None or decoded.rejected.reason != "malformed", decoded.rejected
    for reply in decoded.replies:
        read_reply(reply)
    for position in positions(decoded):
        assert position_problem(position, NOW) is None


def test_every_truncation_of_every_vector_is_handled(rows):
    for message, _, _ in rows:
        whole = vector_bytes(message)
        for size in range(2, len(whole)):
            frame = bytearray(whole[:size] + b"\x7e")
            frame[-2] = xor(frame[1:-2])  # a right checksum, so the body parsers see it
            check_decoded(decode(bytes(frame)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data):
    check_decoded(decode(data))
    check_decoded(decode(b"\x7e" + data + b"\x7e"))
    splitter = jt808.FrameSplitter(max_buffer=128)
    for frame in splitter.feed(data):
        check_decoded(decode(frame))
    assert len(splitter._buffer) <= 128


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_real_frames_never_raise(rows, data):
    message = rows[data.draw(st.integers(0, len(rows) - 1))][0]
    frame = bytearray(vector_bytes(message))
    for _ in range(data.draw(st.integers(1, 4))):
        if len(frame) > 2:
            frame[data.draw(st.integers(1, len(frame) - 2))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        frame = frame[: data.draw(st.integers(0, len(frame)))] + b"\x7e"
    if len(frame) > 3 and data.draw(st.booleans()):
        frame[-2] = xor(frame[1:-2])  # fix the checksum so the body parsers see the mutation
    session = jt808.Session()
    check_decoded(decode(bytes(frame), session))
    check_decoded(decode(bytes(frame), session))
