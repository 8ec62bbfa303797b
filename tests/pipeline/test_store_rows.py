"""The store's own SQLite row conversion binds exactly what SQLAlchemy's column processors
would: same UUID text, same integer microseconds (any zone in), same JSON, same numbers, for
attributes packed into their columns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camtel.db.engine import Database
from camtel.devices.models import Position
from camtel.devices.position_attributes import pack
from camtel.pipeline.store import _COLUMNS, _SqliteInsert

DATABASE = Database("sqlite+aiosqlite:///:memory:")
INSERT = _SqliteInsert(DATABASE)
PROCESSORS = [
    Position.__table__.c[name].type._cached_bind_processor(DATABASE.engine.dialect)
    for name in _COLUMNS
]


def _reference(row: tuple) -> tuple:  # type: ignore[type-arg]
    return tuple(
        v if p is None or v is None else p(v) for p, v in zip(PROCESSORS, row, strict=True)
    )


times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5,
                                                                                     minutes=-30))]),
)
maybe_float = st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-1000, 1000))
attributes = st.dictionaries(
    st.one_of(st.text(max_size=8), st.sampled_from(["alarm_flags", "odometer_m", "satellites",
                                                     "ignition", "motion", "distance_m",
                                                     "status_flags", "load"])),
    st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
              st.lists(st.text(max_size=4), max_size=3)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(
    at=times, server_time=times, latitude=st.floats(-90, 90), longitude=st.integers(-180, 180),
    valid=st.booleans(), speed=maybe_float, course=maybe_float, altitude=maybe_float,
    accuracy=maybe_float, source=st.sampled_from(["gps", "lbs"]),
    dedup=st.integers(-(2**63), 2**63 - 1),
    attrs=attributes,
)
def test_rows_are_what_sqlalchemy_would_bind(  # type: ignore[no-untyped-def]
    at, server_time, latitude, longitude, valid, speed, course, altitude, accuracy, source,
    dedup, attrs,
):
    row = (uuid.uuid4(), at, dedup, server_time, latitude, longitude, valid, speed,
           course, altitude, accuracy, source, *pack(attrs))
    assert INSERT.rows([row]) == [_reference(row)]


def test_a_naive_time_is_refused_as_sqlalchemy_refuses_it():
    row = (uuid.uuid4(), datetime(2026, 1, 1), 0, datetime(2026, 1, 1, tzinfo=UTC),
           1.0, 2.0, True, None, None, None, None, "gps", *pack({}))
    with pytest.raises(ValueError, match="naive"):
        INSERT.rows([row])
    with pytest.raises(ValueError, match="naive"):
        _reference(row)
