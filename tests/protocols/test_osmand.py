"""OsmAnd / Traccar Client HTTP decoder, on captured requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.messages import Position
from camtel.protocols.base import Decoded, position_problem
from camtel.protocols.osmand import decode_request
from helpers.env import load_vectors

NOW = datetime(2026, 1, 1, tzinfo=UTC)
JSON = "application/json"


def _request(message: str) -> tuple[str, str, bytes, str]:
    """A vectors row as (method, target, body, content type): "POST / {json}" or "/?query"."""
    if message.startswith("POST "):
        method, target, body = message.split(" ", 2)
        return method, target, body.encode(), JSON
    return "GET", message, b"", ""


def _get(target: str) -> tuple[int, list[Position], str | None]:
    status, decoded = decode_request("GET", target, b"", "", NOW)
    return status, decoded.messages, decoded.rejected and decoded.rejected.reason


def _post(document: object, content_type: str = JSON) -> tuple[int, list[Position], str | None]:
    status, decoded = decode_request("POST", "/", json.dumps(document).encode(), content_type, NOW)
    return status, decoded.messages, decoded.rejected and decoded.rejected.reason


# Rows (1-based) camtel refuses, and why.
REFUSED = {
    5: "bad_coordinates",  # cell towers and Wi-Fi only: camtel has no network geolocation
    6: "missing_id",
}


@pytest.mark.parametrize("number", range(1, 16))
def test_every_captured_request(testdata: Path, number: int) -> None:
    rows = load_vectors(testdata, "osmand.tsv")
    assert len(rows) == 15
    message, check, _context = rows[number - 1]
    status, decoded = decode_request(*_request(message), NOW)
    if number in REFUSED:
        assert (status, decoded.rejected.reason) == (400, REFUSED[number])
        assert decoded.messages == []
        return
    assert status == 200 and decoded.rejected is None
    assert check in ("verifyPosition", "verifyAttribute")
    (position,) = decoded.messages
    assert isinstance(position, Position) and position.protocol == "osmand"
    assert position_problem(position, NOW) is None


# ---------------------------------------------------------------------------------------------
# Values checked by hand


def test_query_with_iso_time_knots_and_hdop() -> None:
    target = "/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=10.0"  # noqa: E501
    status, (position,), _ = _get(target)
    assert status == 200
    assert position.unique_id == "902064"
    assert position.time == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)
    assert (position.latitude, position.longitude) == (42.06288, -88.23412)
    assert position.speed_kmh == pytest.approx(18.52)  # 10 knots
    assert position.altitude == 224.0
    assert position.attributes == {"hdop": 6.0}


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("1377177267", datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC)),
        ("1442068686579", datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)),
        ("2014-06-04+09%3A10%3A11", datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)),
        ("2014-06-04T11%3A10%3A11%2B02%3A00", datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)),
        ("2025-06-15T13:45:12.862Z", datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(timestamp: str, expected: datetime) -> None:
    _, (position,), _ = _get(f"/?id=1&lat=1&lon=2&timestamp={timestamp}")
    assert position.time == expected


def test_missing_timestamp_is_the_server_time() -> None:
    _, (position,), _ = _get("/?deviceid=123456&lat=60.0&lon=30.0&heading=370&vacc=0&hacc=0")
    assert position.unique_id == "123456" and position.time == NOW
    assert position.course == 10.0
    assert position.attributes == {"vacc": 0, "hacc": 0}


def test_location_parameter_and_extra_attributes() -> None:
    _, (position,), _ = _get("/?id=7&location=60.5,30.25&batt=87&charge=true&ignition=true&rpm=933")
    assert (position.latitude, position.longitude) == (60.5, 30.25)
    assert position.attributes == {
        "battery_level": 87.0,
        "charging": True,
        "ignition": True,
        "rpm": 933,
    }


def test_repeated_parameters_become_a_list() -> None:
    _, (position,), _ = _get("/?id=1&lat=1&lon=1&cell=257,02,16,2224&cell=257,02,16,2223,-90")
    assert position.attributes["cell"] == ["257,02,16,2224", "257,02,16,2223,-90"]


def test_valid_flag_and_unknown_speed() -> None:
    _, (position,), _ = _get("/?id=1&lat=1&lon=1&valid=false&speed=-1&bearing=-1&accuracy=12")
    assert not position.valid
    assert position.speed_kmh is None and position.course is None
    assert position.accuracy_m == 12.0


def test_form_body_is_read_like_the_query() -> None:
    status, decoded = decode_request(
        "POST", "/", b"id=55&lat=10&lon=20", "application/x-www-form-urlencoded", NOW
    )
    assert status == 200 and decoded.messages[0].unique_id == "55"


def test_json_location_in_metres_per_second_and_battery_fraction() -> None:
    document = {
        "location": {
            "timestamp": "2021-07-21T08:06:34.444Z",
            "coords": {"latitude": -6.1148096, "longitude": 106.6837015, "accuracy": 3.8,
                       "speed": 18.67, "heading": 63, "altitude": 35.7},
            "is_moving": True,
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.79, "is_charging": False},
            "activity": {"type": "in_vehicle"},
            "extras": {"trip": 12, "driver": "alice"},
        },
        "device_id": "8737767034",
    }  # fmt: skip
    status, (position,), _ = _post(document)
    assert status == 200
    assert position.unique_id == "8737767034"
    assert position.time == datetime(2021, 7, 21, 8, 6, 34, 444000, tzinfo=UTC)
    assert position.speed_kmh == pytest.approx(67.212)  # 18.67 m/s
    assert (position.course, position.altitude, position.accuracy_m) == (63.0, 35.7, 3.8)
    assert position.attributes == {
        "trip": 12,
        "driver": "alice",
        "motion": True,
        "odometer_m": 1234.5,
        "event": "motionchange",
        "battery_level": 79.0,
        "charging": False,
        "activity": "in_vehicle",
    }


def test_json_extras_keep_their_types(testdata: Path) -> None:
    message = load_vectors(testdata, "osmand.tsv")[1][0]
    _, decoded = decode_request(*_request(message), NOW)
    attributes = decoded.messages[0].attributes
    assert attributes["device_integer_twelve_test"] == 12
    assert attributes["device_bool_false_test"] is False
    assert attributes["device_very_long_double_test"] == 1763636.3442


def test_json_list_of_locations() -> None:
    coords = [{"latitude": 1.0 + i, "longitude": 2.0} for i in range(3)]
    document = {"device_id": "9", "location": [{"coords": c} for c in coords]}
    status, positions, _ = _post(document)
    assert status == 200 and [p.latitude for p in positions] == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/?lat=1&lon=2", "missing_id"),
        ("/?id=&lat=1&lon=2", "missing_id"),
        ("/?id=1&lat=1", "bad_coordinates"),
        ("/?id=1&lat=north&lon=2", "bad_coordinates"),
        ("/?id=1&lat=91&lon=2", "bad_coordinates"),
        ("/?id=1&lat=1&lon=-180.5", "bad_coordinates"),
        ("/?id=1&lat=nan&lon=2", "bad_coordinates"),
        ("/?id=1&lat=1_0&lon=2", "bad_coordinates"),
        ("/?id=1&lat=%E0%A5%A7&lon=2", "bad_coordinates"),  # a Devanagari digit one
        ("/?id=1&location=1", "bad_coordinates"),
        ("/?id=1&lat=1&lon=2&timestamp=yesterday", "bad_time"),
        ("/?id=1&lat=1&lon=2&timestamp=99999999999999999999", "bad_time"),
        (f"/?id={'x' * 200}&lat=1&lon=2", "bad_id"),
    ],
)
def test_bad_queries_are_refused_by_name(target: str, reason: str) -> None:
    status, messages, rejected = _get(target)
    assert (status, messages, rejected) == (400, [], reason)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (b'{"location": {"coords": {"latitude": 1, "longitude": 2}}}', "missing_id"),
        (b'{"device_id": "1"}', "bad_coordinates"),
        (b'{"device_id": "1", "location": {"coords": {"latitude": true, "longitude": 2}}}',
         "bad_coordinates"),
        (b'{"device_id": "1", "location": [{"coords": {"latitude": 1, "longitude": 2}}, 5]}',
         "bad_coordinates"),
        (b"[" * 100_000, "bad_json"),
    ],
)  # fmt: skip
def test_bad_json_is_refused_by_name(body: bytes, reason: str) -> None:
    status, decoded = decode_request("POST", "/", body, JSON, NOW)
    assert (status, decoded.rejected.reason, decoded.messages) == (400, reason, [])


def test_other_methods_are_not_allowed() -> None:
    status, decoded = decode_request("DELETE", "/?id=1&lat=1&lon=2", b"", "", NOW)
    assert (status, decoded.rejected.reason) == (405, "method_not_allowed")


def test_extra_attributes_are_capped() -> None:
    query = "&".join(f"k{i}=v" for i in range(500))
    _, (position,), _ = _get(f"/?id=1&lat=1&lon=2&{query}")
    assert len(position.attributes) == 64


def test_impossible_fix_is_dropped_but_answered_ok() -> None:
    # Still 200: the client would retry a refused fix forever, and it would never get better.
    status, messages, rejected = _get("/?id=1&lat=1&lon=2&timestamp=2030-01-01T00:00:00Z")
    assert (status, messages, rejected) == (200, [], "implausible_position:time_in_future")
    status, messages, rejected = _get("/?id=1&lat=1&lon=2&speed=900")  # knots: 1667 km/h
    assert (status, messages, rejected) == (200, [], "implausible_position:speed_out_of_range")


# ---------------------------------------------------------------------------------------------
# Never raises


def _consistent(status: int, decoded: Decoded) -> bool:
    """200 with positions or an implausible fix dropped; otherwise an error with a reason."""
    if status == 200:
        reason = decoded.rejected.reason if decoded.rejected else "implausible_position"
        return reason.startswith("implausible_position")
    return status in (400, 405) and decoded.rejected is not None and not decoded.messages


_KEYS = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
         "altitude", "accuracy", "batt", "hdop", "valid", "charge", "x"]  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,12})?", fullmatch=True),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "true", "2024-13-45T99:99", "60.0,30.0"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KEYS), _VALUES), max_size=12))
def test_query_strings_never_raise(pairs: list[tuple[str, str]]) -> None:
    status, decoded = decode_request("GET", "/?" + urlencode(pairs), b"", "", NOW)
    assert _consistent(status, decoded)
    for position in decoded.messages:
        assert -90 <= position.latitude <= 90 and -180 <= position.longitude <= 180


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.binary(max_size=200), st.sampled_from([JSON, "", "text/plain"]))
def test_raw_targets_and_bodies_never_raise(target: str, body: bytes, content_type: str) -> None:
    status, decoded = decode_request("POST", target, body, content_type, NOW)
    assert _consistent(status, decoded)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=9), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"device_id": _JSON_VALUES},
        optional={
            "location": st.fixed_dictionaries(
                {},
                optional={
                    "timestamp": _JSON_VALUES,
                    "coords": st.dictionaries(
                        st.sampled_from(["latitude", "longitude", "speed", "heading", "altitude"]),
                        _JSON_VALUES,
                    ),
                    "battery": _JSON_VALUES,
                    "extras": _JSON_VALUES,
                    "is_moving": _JSON_VALUES,
                },
            )
        },
    )
)
def test_json_documents_never_raise(document: dict) -> None:
    body = json.dumps(document).encode()
    status, decoded = decode_request("POST", "/", body, JSON, NOW)
    assert _consistent(status, decoded)
