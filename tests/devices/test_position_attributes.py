"""A position's attributes come back from their columns exactly as they went in, and the
common JT/T 808 report leaves nothing in the JSON."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.devices.position_attributes import COLUMNS, LEAN, STATUS, pack, unpack
from camtel.protocols.jt808_location import decode_location, status_names

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
names = st.one_of(st.text(max_size=8), st.sampled_from([n for n, _ in LEAN] + [STATUS, "load"]))
plain = st.dictionaries(names, json_values, max_size=8)


@st.composite
def jt808_attributes(draw: st.DrawFn) -> dict[str, object]:
    """What a JT/T 808 report gives (the status word and its names), sometimes altered."""
    status = draw(st.integers(min_value=0, max_value=2**32 - 1))
    attributes: dict[str, object] = {STATUS: status, **status_names(status)}
    attributes.update(draw(plain))
    return attributes


def _same(a: object, b: object) -> bool:
    """Equal, with the same types all the way down (True is not 1, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[attr-defined]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)  # type: ignore[arg-type]
    return a == b


@settings(max_examples=400, deadline=None)
@given(st.one_of(plain, jt808_attributes()))
def test_unpack_gives_back_exactly_what_pack_took(attributes: dict[str, object]) -> None:
    packed = pack(attributes)
    assert len(packed) == len(COLUMNS)
    assert _same(unpack(packed), attributes)


def test_a_jt808_report_keeps_no_json_and_its_named_bits_come_back() -> None:
    body = bytes.fromhex(
        "00000000"  # alarm
        "000c0003"  # status: ignition, fix, gps + beidou
        "0157c5a0" "06cb2d40" "0010" "01c2" "005a"  # lat, lon, altitude, speed, course
        "261207101530"  # time
        "0104000004d2" "310110"  # odometer, satellites
    )
    position = decode_location(body, "013912345678", 8)
    attributes = {**position.attributes, "motion": True, "distance_m": 12.5,
                  "total_distance_m": 1034.2}
    packed = dict(zip(COLUMNS, pack(attributes), strict=True))
    assert packed["extra"] is None, "nothing left for the JSON column"
    assert packed[STATUS] == 0x000C0003 and packed["odometer_m"] == 123400
    back = unpack(list(packed.values()))
    assert back == attributes
    assert back["ignition"] is True and back["load"] == "empty" and back["beidou_used"] is True
    assert position.time == datetime(2026, 12, 7, 2, 15, 30, tzinfo=UTC)


def test_a_named_bit_that_disagrees_with_the_word_keeps_both_as_they_were() -> None:
    attributes = {STATUS: 1, **status_names(1)}
    attributes["ignition"] = False  # a device (or a later stage) says otherwise
    packed = dict(zip(COLUMNS, pack(attributes), strict=True))
    assert packed[STATUS] is None
    assert packed["extra"][STATUS] == 1
    assert unpack(list(packed.values())) == attributes


def test_values_of_another_type_stay_in_the_json() -> None:
    attributes = {"satellites": "12", "motion": 1, "distance_m": 3, "odometer_m": 2**64,
                  "total_distance_m": float("inf")}
    packed = dict(zip(COLUMNS, pack(attributes), strict=True))
    assert packed["extra"] == attributes
    assert _same(unpack(list(packed.values())), attributes)
