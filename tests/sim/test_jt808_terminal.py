"""The simulated terminal's frames decode, through the platform's own decoder, to what it meant."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.messages import Auth, CommandReply, Heartbeat, Position, Register
from camtel.protocols import jt808
from camtel.protocols.base import Decoded, position_problem
from camtel.sim import jt808_terminal as terminal
from camtel.sim.jt808_terminal import Location

PHONE = "013800000042"
#: A server clock after every time the tests generate (the decoder drops future positions).
NOW = datetime(2100, 1, 1, tzinfo=UTC)


def decode_wire(wire: bytes, session: jt808.Session | None = None) -> Decoded:
    """Cut the bytes as the gateway does, and decode the one frame in them."""
    (frame,) = jt808.FrameSplitter().feed(wire)
    decoded = jt808.decode(frame, session or jt808.Session(), NOW)
    assert decoded.rejected is None, decoded.rejected
    return decoded


def downlink(reply: bytes) -> terminal.Downlink:
    (frame,) = jt808.FrameSplitter().feed(reply)
    return terminal.parse_downlink(frame)


def test_register_decodes_and_the_reply_carries_the_auth_code():
    wire = terminal.register_frame(
        PHONE,
        7,
        maker="CAMTL",
        model="CT-SIM-1",
        terminal_id="S000042",
        plate="粤B00042",
        province=44,
        city=300,
    )
    session = jt808.Session(auth_secret=b"secret")
    decoded = decode_wire(wire, session)
    (message,) = decoded.messages
    assert message == Register(
        "jt808",
        PHONE,
        manufacturer="CAMTL",
        model="CT-SIM-1",
        terminal_id="S000042",
        plate="粤B00042",
        attributes={"province": 44, "city": 300, "plate_color": 1},
    )
    (reply,) = decoded.replies
    answer = downlink(reply)
    assert answer == terminal.RegisterResponse(
        0, answered_serial=7, result=0, auth_code=jt808.auth_code(PHONE, b"secret")
    )
    assert answer.ok


def test_register_fields_that_do_not_fit_are_refused():
    with pytest.raises(ValueError):
        terminal.register_frame(PHONE, 1, maker="TOOLONG", model="", terminal_id="", plate="")


def test_auth_with_the_code_is_accepted_and_acknowledged():
    session = jt808.Session(auth_secret=b"secret")
    code = jt808.auth_code(PHONE, b"secret")
    decoded = decode_wire(terminal.auth_frame(PHONE, 300, code), session)
    assert decoded.messages == [Auth("jt808", PHONE, code=code)]
    (reply,) = decoded.replies
    assert downlink(reply) == terminal.GeneralResponse(
        0, answered_serial=300, answered_id=jt808.MSG_TERMINAL_AUTH, result=0
    )


def test_auth_with_a_wrong_code_gets_a_failed_general_response():
    session = jt808.Session(auth_secret=b"secret")
    decoded = jt808.decode(
        jt808.FrameSplitter().feed(terminal.auth_frame(PHONE, 1, "guess"))[0], session, NOW
    )
    answer = downlink(decoded.replies[0])
    assert isinstance(answer, terminal.GeneralResponse) and not answer.ok


def test_heartbeat():
    decoded = decode_wire(terminal.heartbeat_frame(PHONE, 65535))
    assert decoded.messages == [Heartbeat("jt808", PHONE)]
    answer = downlink(decoded.replies[0])
    assert isinstance(answer, terminal.GeneralResponse)
    assert (answer.answered_serial, answer.answered_id) == (65535, jt808.MSG_HEARTBEAT)


def only_position(decoded: Decoded) -> Position:
    (position,) = decoded.messages
    assert isinstance(position, Position)
    assert position_problem(position, NOW) is None
    return position


zones = st.integers(-12 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
times = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=zones
)


@settings(max_examples=300, deadline=None)
@given(
    time=times,
    latitude=st.floats(-90, 90),
    longitude=st.floats(-180, 180),
    speed=st.integers(0, 2000).map(lambda tenths: tenths / 10),
    course=st.integers(0, 359),
    altitude=st.integers(-400, 9000),
    odometer_100m=st.integers(0, 2**32 - 1),
    satellites=st.integers(0, 40),
    rssi=st.integers(0, 31),
    ignition=st.booleans(),
    valid=st.booleans(),
    serial=st.integers(0, 0xFFFF),
)
def test_location_round_trips_through_the_decoder(
    time,
    latitude,
    longitude,
    speed,
    course,
    altitude,
    odometer_100m,
    satellites,
    rssi,
    ignition,
    valid,
    serial,
):
    location = Location(
        time=time,
        latitude=latitude,
        longitude=longitude,
        speed_kmh=speed,
        course=course,
        altitude_m=altitude,
        ignition=ignition,
        valid=valid,
        odometer_m=odometer_100m * 100,
        rssi=rssi,
        satellites=satellites,
    )
    position = only_position(decode_wire(terminal.location_frame(PHONE, serial, location)))
    assert position.unique_id == PHONE and position.serial == serial
    assert position.time == time.astimezone(UTC).replace(microsecond=0)
    assert position.latitude == pytest.approx(latitude, abs=5.1e-7)
    assert position.longitude == pytest.approx(longitude, abs=5.1e-7)
    assert (position.speed_kmh, position.course, position.altitude) == (speed, course, altitude)
    assert position.valid is valid
    assert position.attributes["ignition"] is ignition
    assert position.attributes["odometer_m"] == odometer_100m * 100
    assert position.attributes["satellites"] == satellites
    assert position.attributes["rssi"] == rssi


def test_south_west_location_and_device_time_in_utc_plus_8():
    # 23:30 UTC is 07:30 the next day on the device's clock: the date must survive too.
    time = datetime(2026, 3, 15, 23, 30, 5, tzinfo=UTC)
    assert terminal.bcd_time(time) == bytes.fromhex("260316073005")
    location = Location(time, -23.550520, -46.633308, speed_kmh=42.5, course=271.4)
    position = only_position(decode_wire(terminal.location_frame(PHONE, 1, location)))
    assert (position.latitude, position.longitude) == (-23.55052, -46.633308)
    assert position.time == time and position.course == 271.0 and position.speed_kmh == 42.5
    assert position.attributes["status_flags"] & 0b1111 == 0b1111  # ACC, fix, south, west


def test_alarm_flags_and_absent_items():
    location = Location(datetime(2026, 1, 1, tzinfo=UTC), 1.0, 2.0, alarm_flags=1)
    body = terminal.location_body(location)
    assert len(body) == 28  # no items when nothing is known
    position = only_position(decode_wire(terminal.location_frame(PHONE, 1, location)))
    assert position.alarms == ("sos",)
    assert "satellites" not in position.attributes


def test_a_time_without_zone_is_refused():
    with pytest.raises(ValueError, match="zone"):
        terminal.bcd_time(datetime(2026, 1, 1))


def test_bytes_that_need_escaping_survive():
    # 0x7e/0x7d in the serial and in the coordinates must be escaped on the wire.
    location = Location(
        datetime(2026, 1, 1, tzinfo=UTC), 0x7E7D7E / 1e6, 0x7D7E7D / 1e6, speed_kmh=0x7E / 10
    )
    wire = terminal.location_frame(PHONE, 0x7E7D, location)
    assert b"\x7e" not in wire[1:-1]
    position = only_position(decode_wire(wire))
    assert position.serial == 0x7E7D and position.latitude == 0x7E7D7E / 1e6


@pytest.mark.parametrize("blind_area", [True, False])
def test_batch_keeps_order_and_the_blind_area_flag(blind_area):
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    locations = [
        Location(start + timedelta(seconds=5 * i), 22.5 + i / 1000, -114.0, satellites=9)
        for i in range(terminal.MAX_BATCH)
    ]
    wire = terminal.batch_frame(PHONE, 9, locations, blind_area=blind_area)
    decoded = decode_wire(wire)
    assert [p.time for p in decoded.messages] == [loc.time for loc in locations]
    assert [p.latitude for p in decoded.messages] == [loc.latitude for loc in locations]
    assert all(p.attributes["blind_area"] is blind_area for p in decoded.messages)
    answer = downlink(decoded.replies[0])
    assert isinstance(answer, terminal.GeneralResponse)
    assert (answer.answered_serial, answer.answered_id) == (9, jt808.MSG_LOCATION_BATCH)


def test_batch_size_is_bounded():
    location = Location(datetime(2026, 1, 1, tzinfo=UTC), 1.0, 1.0)
    with pytest.raises(ValueError):
        terminal.batch_frame(PHONE, 1, [])
    with pytest.raises(ValueError):
        terminal.batch_frame(PHONE, 1, [location] * (terminal.MAX_BATCH + 1))


def test_answers_to_platform_commands_decode():
    location = Location(datetime(2026, 1, 1, tzinfo=UTC), 10.0, 20.0)
    decoded = decode_wire(terminal.location_reply_frame(PHONE, 2, 77, location))
    position, reply = decoded.messages
    assert isinstance(position, Position) and position.latitude == 10.0
    assert reply == CommandReply("jt808", PHONE, 77, "ok")
    decoded = decode_wire(terminal.terminal_response_frame(PHONE, 3, 78, jt808.MSG_TEXT))
    assert decoded.messages == [CommandReply("jt808", PHONE, 78, "ok", text="0x8300")]


def test_other_downlinks_and_broken_ones():
    session = jt808.Session(unique_id=PHONE)
    command = jt808.build_frame(jt808.MSG_LOCATE_NOW, b"", session)
    assert downlink(command) == terminal.OtherDownlink(jt808.MSG_LOCATE_NOW, 0, b"")
    ack = jt808.FrameSplitter().feed(jt808.general_response(session, 5, 0x0200, 0))[0]
    broken = ack[:-2] + bytes([ack[-2] ^ 0xFF]) + ack[-1:]
    with pytest.raises(terminal.DownlinkError):
        terminal.parse_downlink(broken)
    with pytest.raises(terminal.DownlinkError):
        terminal.parse_downlink(b"hello")
    short_body = jt808.FrameSplitter().feed(
        jt808.build_frame(jt808.MSG_GENERAL_RESPONSE, struct.pack(">H", 1), session)
    )[0]
    with pytest.raises(terminal.DownlinkError):
        terminal.parse_downlink(short_body)
