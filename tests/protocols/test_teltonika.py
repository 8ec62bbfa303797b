"""Teltonika decoder, frame splitter and command encoder, on captured device bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.messages import Command, CommandReply, Heartbeat, Position
from camtel.protocols import teltonika
from camtel.protocols.base import position_problem
from camtel.protocols.teltonika import FrameSplitter, Session, crc16, decode, decode_udp
from helpers.env import DATA, load_vectors

NOW = datetime(2026, 1, 1, tzinfo=UTC)
IMEI = "123456789012345"
HANDSHAKE = bytes.fromhex("000F313233343536373839303132333435")

_ROWS = load_vectors(DATA, "teltonika.tsv")
_ROW = {number: bytes.fromhex(row[0]) for number, row in enumerate(_ROWS, 1)}

# Rows (1-based) a strict decoder refuses, and why. The README counts nine TCP frames that fail
# a strict length/CRC check; camtel answers none of them, so the device sends them again.
REFUSED = {
    15: "bad_crc",  # codec 13
    21: "bad_crc",  # codec 16
    23: "bad_crc",  # codec 8: row 26 with IO bytes altered
    29: "bad_length",  # data length field says 0
    34: "bad_length",  # two bytes and the CRC missing
    37: "bad_length",  # codec 7, one byte short
    41: "bad_length",  # says 166 bytes, carries 33
    50: "bad_crc",  # camera flow
    51: "bad_crc",  # camera flow
    49: "unsupported_message",  # camera flow: codec 12 type 0x0d, not decoded (yet)
}


def _session() -> Session:
    return Session(unique_id=IMEI, authenticated=True)


def _frame(data: bytes) -> bytes:
    """A TCP frame around a data field (codec id to the last record count), with its CRC."""
    return b"\0\0\0\0" + len(data).to_bytes(4, "big") + data + crc16(data).to_bytes(4, "big")


def _positions(decoded) -> list[Position]:
    return [m for m in decoded.messages if isinstance(m, Position)]


# ---------------------------------------------------------------------------------------------
# Every captured row


@pytest.mark.parametrize("number", range(1, 53))
def test_every_captured_row_decodes_or_is_refused_by_name(testdata: Path, number: int) -> None:
    rows = load_vectors(testdata, "teltonika.tsv")
    assert len(rows) == 52
    message, check, context = rows[number - 1]
    frame = bytes.fromhex(message)
    if context.get("transport") == "udp":
        decoded = decode_udp(frame, NOW)
    else:
        decoded = decode(frame, _session(), NOW)

    if number in REFUSED:
        assert decoded.rejected is not None
        assert decoded.rejected.reason == REFUSED[number]
        assert decoded.messages == [] and decoded.replies == []
        return
    assert decoded.rejected is None, decoded.rejected
    positions = _positions(decoded)
    for position in positions:
        assert position_problem(position, NOW) is None
        assert position.unique_id == (IMEI if number != 52 else "357454072713975")
    if check == "verifyNull":
        assert positions == []
    elif frame[8:9] in (b"\x0c", b"\x0d"):
        # Traccar turns command answers into positions carrying a "result"; camtel, into replies.
        assert [type(m) for m in decoded.messages] == [CommandReply]
        assert decoded.replies == []
    else:
        assert positions, check
        count = frame[9] if context.get("transport") == "tcp" else frame[-1]
        assert decoded.replies[-1].endswith(bytes([count]))


def test_the_refused_rows_are_the_nine_the_readme_counts_plus_one_camera_frame() -> None:
    assert len([n for n, reason in REFUSED.items() if reason != "unsupported_message"]) == 9


def test_crc_catches_the_altered_copy_of_a_good_record() -> None:
    good, altered = _ROW[26], _ROW[23]
    assert len(good) == len(altered) and good != altered
    assert decode(good, _session(), NOW).rejected is None
    assert decode(altered, _session(), NOW).rejected.reason == "bad_crc"


# ---------------------------------------------------------------------------------------------
# Values checked by hand against the bytes


class TestValues:
    def test_codec_8_record(self) -> None:
        # 0000016818d50058 ms, lon 09c28d9f, lat 1cb3757a, alt 00be, angle 00c6, 0f sats, 0053 km/h
        decoded = decode(_ROW[19], _session(), NOW)
        (position,) = _positions(decoded)
        assert position.time == datetime(2019, 1, 4, 12, 27, 19, tzinfo=UTC)
        assert position.longitude == pytest.approx(16.3745183)
        assert position.latitude == pytest.approx(48.1523066)
        assert (position.altitude, position.course, position.speed_kmh) == (190.0, 198.0, 83.0)
        assert position.valid and position.alarms == ()
        attributes = position.attributes
        assert attributes["satellites"] == 15
        assert attributes["io66"] == 0x3799 and attributes["power"] == pytest.approx(14.233)
        assert attributes["io67"] == 0x0F88 and attributes["battery"] == pytest.approx(3.976)
        assert attributes["odometer_m"] == 0x002887E0
        assert attributes["motion"] is True and attributes["din1"] is True
        assert attributes["rssi"] == 3
        assert decoded.replies == [b"\x00\x00\x00\x01"]

    def test_codec_8_extended_records(self) -> None:
        decoded = decode(_ROW[2], _session(), NOW)
        first, second = _positions(decoded)
        assert first.time == datetime(2025, 6, 13, 15, 18, 7, tzinfo=UTC)
        assert second.time == datetime(2025, 6, 13, 15, 17, 50, 11000, tzinfo=UTC)
        assert first.latitude == pytest.approx(41.4349316)
        assert first.longitude == pytest.approx(2.2190583)
        assert first.attributes["ignition"] is True and first.attributes["motion"] is False
        assert first.attributes["hdop"] == pytest.approx(1.2)
        assert first.attributes["io380"] == 0  # a two-byte id (0x017c) in a one-byte group
        assert decoded.replies == [b"\x00\x00\x00\x02"]

    def test_codec_8_extended_variable_length_element_kept_as_hex(self) -> None:
        (position,) = _positions(decode(_ROW[3], _session(), NOW))
        assert position.attributes["event_io"] == 548
        assert position.attributes["io548"].startswith("010f0001c601")

    def test_codec_8_extended_signed_scaled_element(self) -> None:
        # io 10800 (0x2a30) = 0xfb5d: -1187 hundredths of a degree; Traccar reads -11.87 too.
        (position,) = _positions(decode(_ROW[45], _session(), NOW))
        assert position.attributes["io10800"] == 0xFB5D
        assert position.attributes["eye_temp1"] == pytest.approx(-11.87)

    def test_codec_16_generation_type_and_event_alarm(self) -> None:
        positions = _positions(decode(_ROW[9], _session(), NOW))
        assert len(positions) == 4
        first = positions[0]
        assert first.attributes["generation_type"] == 7
        assert first.attributes["event_io"] == 253 and first.attributes["io253"] == 2
        assert first.alarms == ("hard_braking",)
        assert first.latitude == pytest.approx(47.7225616)

    def test_codec_8_with_sixteen_byte_elements(self) -> None:
        # Rows 46 and 47 come from an FMB130 set to add 16-byte IO values (Traccar "extended").
        positions = _positions(decode(_ROW[47], _session(), NOW))
        assert len(positions) == 11
        assert positions[0].time == datetime(2017, 3, 9, 23, 25, 25, tzinfo=UTC)
        assert positions[0].latitude == pytest.approx(-33.5423734)

    def test_codec_7_masked_fields_and_float_coordinates(self) -> None:
        # 0x4c61410b: priority 1 in the top two bits, 0x0c61410b seconds after 2007-01-01.
        first, _ = _positions(decode(_ROW[38], _session(), NOW))
        assert first.time == datetime(2013, 7, 31, 22, 30, 35, tzinfo=UTC)
        assert first.latitude == pytest.approx(44.44019, abs=1e-5)
        assert first.longitude == pytest.approx(26.09313, abs=1e-5)
        assert first.altitude == 61.0 and first.speed_kmh == 0.0
        assert first.attributes["priority"] == 1
        assert first.attributes["lac"] == 0x64 and first.attributes["cell_id"] == 0x83FF

    def test_codec_7_record_without_location_reuses_the_last_fix_as_invalid(self) -> None:
        # Four records: IO only (nothing to place: acknowledged, no position), two fixes, then
        # one with only the network fields.
        session = _session()
        decoded = decode(_ROW[32], session, NOW)
        positions = _positions(decoded)
        assert decoded.replies == [b"\x00\x00\x00\x04"]
        assert [p.valid for p in positions] == [True, True, False]
        assert (positions[2].latitude, positions[2].longitude) == (
            positions[1].latitude,
            positions[1].longitude,
        )
        assert positions[2].attributes["rssi"] == 0x1A

    def test_command_response(self) -> None:
        (reply,) = decode(_ROW[40], _session(), NOW).messages
        assert reply == CommandReply(
            "teltonika", IMEI, None, "ok", "#FM2=262032761721396,26203,07.02.05"
        )

    def test_binary_command_response_is_hex(self) -> None:
        (reply,) = decode(_ROW[18], _session(), NOW).messages
        assert reply.text == "010300010015d5c5"

    def test_codec_13_message_drops_its_timestamp(self) -> None:
        (reply,) = decode(_ROW[6], _session(), NOW).messages
        assert reply.result == "message"
        assert reply.text == "GTSL|6|1|0|12749884|1|"

    def test_udp_datagram_and_its_acknowledgement(self) -> None:
        decoded = decode_udp(_ROW[52], NOW)
        (position,) = _positions(decoded)
        assert position.unique_id == "357454072713975"
        assert position.latitude == pytest.approx(51.630115)
        assert position.longitude == pytest.approx(0.4124566)
        assert position.speed_kmh == 49.0
        # length 5, packet id 0xcafe, 0x01, AVL packet id 0x22, one record accepted
        assert decoded.replies == [bytes.fromhex("0005cafe012201")]


# ---------------------------------------------------------------------------------------------
# Session, handshake and synthetic records


def test_handshake_names_the_device_and_is_accepted() -> None:
    session = Session()
    decoded = decode(HANDSHAKE, session, NOW)
    assert decoded.replies == [b"\x01"]
    assert decoded.messages == [Heartbeat("teltonika", IMEI)]
    assert session.unique_id == session.imei == IMEI and session.authenticated


def test_handshake_with_an_unreadable_imei_is_refused() -> None:
    decoded = decode(b"\x00\x05ab\xffcd", Session(), NOW)
    assert decoded.rejected.reason == "bad_imei" and decoded.replies == [b"\x00"]


def test_a_connection_cannot_change_its_imei() -> None:
    session = _session()
    decoded = decode(b"\x00\x0f999999999999999", session, NOW)
    assert decoded.rejected.reason == "imei_changed" and decoded.replies == [b"\x00"]
    assert session.unique_id == IMEI


def test_records_before_the_handshake_are_refused() -> None:
    decoded = decode(_frame(bytes.fromhex("0800" + "00")), Session(), NOW)
    assert decoded.rejected.reason == "no_imei" and decoded.replies == []


def test_ping_is_a_heartbeat_once_the_device_is_known() -> None:
    assert decode(b"\xff", Session(), NOW).messages == []
    assert decode(b"\xff", _session(), NOW).messages == [Heartbeat("teltonika", IMEI)]


def _codec8_record(priority: int, satellites: int, event_io: int = 0) -> bytes:
    return (
        (1_700_000_000_000).to_bytes(8, "big")
        + bytes([priority])
        + (100_000_000).to_bytes(4, "big")  # 10.0 degrees east
        + (-200_000_000).to_bytes(4, "big", signed=True)  # 20.0 degrees south
        + (5).to_bytes(2, "big")
        + (90).to_bytes(2, "big")
        + bytes([satellites])
        + (42).to_bytes(2, "big")
        + bytes([event_io, 1, 1, 247, 1, 0, 0, 0])  # one 1-byte element: io247 = 1
    )


def test_panic_priority_is_an_sos_alarm_and_no_satellites_is_invalid() -> None:
    data = bytes([0x08, 2]) + _codec8_record(2, 0) + _codec8_record(0, 7, event_io=247) + b"\x02"
    decoded = decode(_frame(data), _session(), NOW)
    panic, crash = _positions(decoded)
    assert panic.alarms == ("sos",) and not panic.valid
    assert crash.alarms == ("accident",) and crash.valid and crash.attributes["event_io"] == 247
    assert (crash.latitude, crash.longitude) == (-20.0, 10.0)
    assert crash.time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert decoded.replies == [b"\x00\x00\x00\x02"]


def test_impossible_record_is_dropped_but_acknowledged() -> None:
    future = bytearray(_codec8_record(0, 7))
    future[:8] = (4_000_000_000_000).to_bytes(8, "big")  # the year 2096
    data = bytes([0x08, 2]) + _codec8_record(0, 7) + bytes(future) + b"\x02"
    decoded = decode(_frame(data), _session(), NOW)
    assert len(decoded.messages) == 1
    assert decoded.rejected.reason == "implausible_position:time_in_future"
    assert decoded.replies == [b"\x00\x00\x00\x02"]


def test_record_counts_that_disagree_are_malformed() -> None:
    data = bytes([0x08, 1]) + _codec8_record(0, 7) + b"\x02"
    decoded = decode(_frame(data), _session(), NOW)
    assert decoded.rejected.reason == "malformed" and decoded.replies == []


def test_unknown_codec_is_named() -> None:
    decoded = decode(_frame(bytes([0x42, 0, 0])), _session(), NOW)
    assert decoded.rejected.reason == "unsupported_codec"


# ---------------------------------------------------------------------------------------------
# Frame splitter


def test_frame_splitter_vectors(testdata: Path) -> None:
    rows = [
        (bytes.fromhex(message), context["role"])
        for message, _check, context in load_vectors(testdata, "frames_and_encoders.tsv")
        if context.get("suite") == "teltonika-frame-decoder"
    ]
    # Traccar's pairs: the expected first frame, then the input it comes from.
    pairs = list(zip(rows[::2], rows[1::2], strict=True))
    assert len(pairs) == 2
    for (expected, role_expected), (given_bytes, role_input) in pairs:
        assert (role_expected, role_input) == ("expected", "input")
        frames = FrameSplitter().feed(given_bytes)
        assert frames[0] == expected
        assert b"".join(frames) == given_bytes


def test_frame_splitter_cuts_a_stream_fed_one_byte_at_a_time() -> None:
    records = [_ROW[n] for n in (19, 2, 17, 47)]
    stream = HANDSHAKE + b"\xff" + b"".join(records)
    splitter = FrameSplitter()
    frames = [frame for byte in stream for frame in splitter.feed(bytes([byte]))]
    assert frames == [HANDSHAKE, b"\xff", *records]
    assert splitter.dropped_bytes == 0 and splitter.buffered == 0


def test_frame_splitter_drops_and_counts_garbage_and_absurd_lengths() -> None:
    good = _frame(bytes([0x08, 1]) + _codec8_record(0, 7) + b"\x01")
    absurd = b"\0\0\0\0\x7f\xff\xff\xff"
    splitter = FrameSplitter()
    frames = splitter.feed(HANDSHAKE + b"junk!" + good + absurd + good)
    assert frames == [HANDSHAKE, good, good]
    assert splitter.dropped_bytes == len(b"junk!") + len(absurd)


def test_frame_splitter_drops_an_absurd_imei_length() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(b"\x40\x00" + HANDSHAKE) == [HANDSHAKE]
    assert splitter.dropped_bytes == 2


def test_frame_splitter_holds_no_more_than_its_bound() -> None:
    splitter = FrameSplitter(max_buffer=1024)
    splitter.feed(HANDSHAKE)
    # A frame that says 1000 bytes fits and is waited for; one that says 2000 is dropped.
    assert splitter.feed(b"\0\0\0\0" + (1000).to_bytes(4, "big") + b"\x08" * 500) == []
    assert splitter.buffered == 508
    splitter = FrameSplitter(max_buffer=1024)
    splitter.feed(HANDSHAKE)
    assert splitter.feed(b"\0\0\0\0" + (2000).to_bytes(4, "big") + b"\x08" * 500) == []
    assert splitter.buffered <= 1024 and splitter.dropped_bytes > 0


# ---------------------------------------------------------------------------------------------
# Command encoder


def test_command_encoder_vectors(testdata: Path) -> None:
    expected = [
        bytes.fromhex(message)
        for message, _check, context in load_vectors(testdata, "frames_and_encoders.tsv")
        if context.get("suite") == "teltonika-command-encoder"
    ]
    # Traccar's test sends "setdigout 11" as text and "03030000000185e8" as raw bytes.
    commands = [
        Command("custom", {"text": "setdigout 11"}),
        Command("custom", {"hex": "03030000000185e8"}),
    ]
    assert [teltonika.encode_command(c, _session()) for c in commands] == expected


def test_encoded_command_is_a_frame_the_splitter_and_crc_accept() -> None:
    frame = teltonika.encode_command(Command("custom", {"text": "getinfo"}), _session())
    splitter = FrameSplitter()
    splitter.feed(HANDSHAKE)
    assert splitter.feed(frame) == [frame]
    assert int.from_bytes(frame[-4:], "big") == crc16(frame[8:-4])
    assert frame[15:-5] == b"getinfo"


@pytest.mark.parametrize(
    "command", [Command("locate"), Command("custom", {}), Command("custom", {"text": "é"})]
)
def test_command_encoder_refuses_what_it_cannot_send(command: Command) -> None:
    with pytest.raises(ValueError):
        teltonika.encode_command(command, _session())


# ---------------------------------------------------------------------------------------------
# Never raises


_GOOD_FRAMES = [_ROW[n] for n in sorted(_ROW) if n not in REFUSED and n not in (1, 44, 48, 52)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_decode_never_raises_on_random_bytes(data: bytes, known: bool) -> None:
    decoded = decode(data, _session() if known else Session(), NOW)
    assert decoded.rejected is None or not decoded.messages
    assert decode_udp(data, NOW).rejected is None or not decode_udp(data, NOW).messages


@pytest.mark.skipif(not _GOOD_FRAMES, reason="shared vectors not found")
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_decode_never_raises_on_mutated_frames_with_a_fixed_crc(data: st.DataObject) -> None:
    frame = bytearray(data.draw(st.sampled_from(_GOOD_FRAMES)))
    payload = frame[8:-4]
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        payload = payload[: data.draw(st.integers(0, len(payload)))]
    decoded = decode(_frame(bytes(payload)), _session(), NOW)
    for position in _positions(decoded):
        assert isinstance(position.latitude, float)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20), st.integers(64, 4096))
def test_frame_splitter_never_raises_and_loses_no_byte_unaccounted(
    chunks: list[bytes], max_buffer: int
) -> None:
    splitter = FrameSplitter(max_buffer=max_buffer)
    frames = [frame for chunk in chunks for frame in splitter.feed(chunk)]
    assert splitter.buffered <= max_buffer
    total = sum(len(frame) for frame in frames) + splitter.dropped_bytes + splitter.buffered
    assert total == sum(len(chunk) for chunk in chunks)
    for frame in frames:
        decode(frame, Session(), NOW)
