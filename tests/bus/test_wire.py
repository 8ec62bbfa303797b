"""An envelope survives the trip between processes exactly: every position field, the
attributes and alarms, and each time with its zone offset (or none)."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camtel.bus import wire
from camtel.bus.base import Envelope
from camtel.messages import Position

_OFFSET = timedelta(hours=23, minutes=59, seconds=59)
zones = st.one_of(
    st.none(),
    st.just(UTC),
    # Whole seconds: no zone has a finer offset (and Python 3.11 cannot read one back).
    st.integers(-_OFFSET.seconds, _OFFSET.seconds).map(lambda s: timezone(timedelta(seconds=s))),
)
# `fold` only matters for a named zone's repeated hour; named zones travel as their offset.
times = st.datetimes(timezones=zones).map(lambda t: t.replace(fold=0))
numbers = st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-(2**70), 2**70))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)
positions = st.builds(
    Position,
    protocol=st.text(max_size=12),
    unique_id=st.text(max_size=20),
    time=times,
    latitude=st.floats(allow_nan=False),
    longitude=st.floats(allow_nan=False),
    valid=st.booleans(),
    speed_kmh=numbers,
    course=numbers,
    altitude=numbers,
    accuracy_m=numbers,
    source=st.text(max_size=8),
    serial=st.none() | st.integers(0, 2**32),
    alarms=st.lists(st.text(max_size=12), max_size=4).map(tuple),
    attributes=st.dictionaries(st.text(max_size=12), json_values, max_size=5),
)
envelopes = st.builds(
    Envelope,
    device_id=st.uuids(),
    position=st.none() | positions,
    received_at=times,
    dedup=st.integers(-(2**63), 2**64 - 1),
)


@given(envelopes)
def test_an_envelope_comes_back_exactly(envelope: Envelope) -> None:
    back = wire.decode(wire.encode(envelope))
    # repr tells 1 from 1.0, -0.0 from 0.0, a tuple from a list and one zone offset from another
    assert repr(back) == repr(envelope)
    assert back.done is None and back.events == []
    if envelope.position is not None:
        assert back.position is not None
        assert back.position.time.utcoffset() == envelope.position.time.utcoffset()


def test_nan_survives() -> None:
    position = Position(
        "osmand", "1", datetime(2026, 3, 15, tzinfo=UTC), 1.0, 2.0, speed_kmh=math.nan
    )
    back = wire.decode(wire.encode(Envelope(uuid.uuid4(), position, position.time)))
    assert back.position is not None and math.isnan(back.position.speed_kmh or 0.0)


def test_fields_a_newer_sender_adds_are_ignored_and_garbage_is_refused() -> None:
    position = Position("osmand", "1", datetime(2026, 3, 15, tzinfo=UTC), 1.0, 2.0)
    data = wire.encode(Envelope(uuid.uuid4(), position, position.time, 7))
    newer = data.replace(b'"protocol"', b'"heading_source":"imu","protocol"', 1)
    assert wire.decode(newer).position == position
    for garbage in (b"", b"[]", b"{}", b'{"v":2}', data[:-1]):
        with pytest.raises(wire.WireError):
            wire.decode(garbage)


def test_the_message_id_names_device_fix_time_and_dedup() -> None:
    device = uuid.uuid4()
    position = Position("osmand", "1", datetime(2026, 3, 15, tzinfo=UTC), 1.0, 2.0)
    same = wire.message_id(Envelope(device, position, datetime.now(UTC), 7))
    assert same == wire.message_id(Envelope(device, position, datetime(2020, 1, 1), 7))
    assert same != wire.message_id(Envelope(device, position, position.time, 8))
    assert wire.message_id(Envelope(device, None, position.time)) is None
