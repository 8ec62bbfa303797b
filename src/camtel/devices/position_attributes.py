"""How a position's attributes are kept: typed columns for what nearly every fix carries, JSON
for the rest, and the same dictionary back on read. Pure; no I/O.

A JT/T 808 report arrives with ~20 attributes, 17 of them the named bits of its status word
(`ignition`, `door1_open`, ... `load`); kept as JSON they were ~470 bytes a row. Here:

- the status word is kept as the integer it arrives as (`status_flags`) and its named bits are
  derived again on read, but only when every derived name was there with the very value the
  word gives (otherwise the word and the names stay as they were, in the JSON);
- a handful of attributes most fixes carry (`LEAN`) get a column of their own when the value
  has the column's exact type (a bool, an int that fits 64 bits, a finite float); any other
  value under the same name stays in the JSON;
- everything else is the JSON column `extra`, NULL when empty.

`unpack(pack(a))` is `a` for every dictionary of JSON values (`tests/devices/
test_position_attributes.py` holds it to that with generated dictionaries); only the order of
the keys may differ.
"""

from __future__ import annotations

import math
from typing import Any, cast

from camtel.protocols.jt808_location import status_names

#: Attributes with a column of their own, and the one Python type each column takes.
LEAN: tuple[tuple[str, type], ...] = (
    ("alarm_flags", int),
    ("odometer_m", int),
    ("satellites", int),
    ("rssi", int),
    ("ignition", bool),
    ("blind_area", bool),
    ("motion", bool),
    ("distance_m", float),
    ("total_distance_m", float),
)
#: The column holding a JT/T 808 status word whose named bits are derived on read.
STATUS = "status_flags"
#: Every column `pack` fills, in the order it gives them: the lean ones, the status, the JSON.
COLUMNS: tuple[str, ...] = (*(name for name, _ in LEAN), STATUS, "extra")

_INT64 = range(-(2**63), 2**63)


def _fits(value: Any, kind: type) -> bool:
    if type(value) is not kind:  # exact: True is not an int here, 1 is not a float
        return False
    if kind is int:
        return value in _INT64
    if kind is float:
        # NaN and infinities have no column form; -0.0 would come back as 0.0.
        number = cast(float, value)  # `type(value) is float` above
        return math.isfinite(number) and (number != 0.0 or math.copysign(1.0, number) > 0)
    return True


def pack(attributes: dict[str, Any]) -> tuple[Any, ...]:
    """The column values of `attributes`, in the order of `COLUMNS`."""
    rest = dict(attributes)
    status = rest.get(STATUS)
    # The status first: one of its names (`ignition`) has a column for other protocols too.
    if status is not None and _fits(status, int) and status >= 0 and _named(rest, status):
        for name in status_names(status):
            del rest[name]
        del rest[STATUS]
    else:
        status = None
    values: list[Any] = []
    for name, kind in LEAN:
        value = rest.get(name)
        if value is not None and _fits(value, kind):
            del rest[name]
            values.append(value)
        else:
            values.append(None)
    values.append(status)
    values.append(rest or None)
    return tuple(values)


def _named(attributes: dict[str, Any], status: int) -> bool:
    """Whether every name the status word gives is there, with the same value and type."""
    missing = object()
    for name, value in status_names(status).items():
        given = attributes.get(name, missing)
        if given is missing or type(given) is not type(value) or given != value:
            return False
    return True


def unpack(values: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    """The attributes of a row from its column values in the order of `COLUMNS`."""
    *lean, status, extra = values
    attributes: dict[str, Any] = {}
    if status is not None:
        attributes[STATUS] = status
        attributes.update(status_names(status))
    for (name, kind), value in zip(LEAN, lean, strict=True):
        if value is not None:
            # SQLite gives 0/1 for a boolean and may give an int for a whole REAL.
            attributes[name] = kind(value)
    if extra:
        attributes.update(extra)
    return attributes
