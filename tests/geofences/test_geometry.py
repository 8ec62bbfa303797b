"""Fence shapes: bad GeoJSON gets a clear reason; corridors and schedules behave."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from camtel.geofences import geometry, schedule
from camtel.geofences.geometry import GeometryError, parse

SQUARE = [[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]


@pytest.mark.parametrize(
    ("area", "extra", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, {},
         "crosses itself"),
        ({"type": "Polygon", "coordinates": [SQUARE[:-1]]}, {}, "open"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, {}, "at least 4"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, {}, "no area"),
        ({"type": "Point", "coordinates": [13, 52]}, {"radius_m": 0}, "radius_m"),
        ({"type": "Point", "coordinates": [13, 52]}, {"radius_m": 10_000_000}, "radius_m"),
        ({"type": "Point", "coordinates": [13, 52]}, {}, "radius_m"),
        ({"type": "Point", "coordinates": [13, 95]}, {"radius_m": 50}, "latitude 95"),
        ({"type": "Point", "coordinates": [190, 5]}, {"radius_m": 50}, "longitude 190"),
        ({"type": "Point", "coordinates": ["a", 5]}, {"radius_m": 50}, "numbers"),
        ({"type": "LineString", "coordinates": [[13, 52], [13.1, 52]]}, {}, "width_m"),
        ({"type": "LineString", "coordinates": [[13, 52]]}, {"width_m": 10}, "at least 2"),
        ({"type": "Polygon", "coordinates": [[[170, 0], [-170, 0], [-170, 5], [170, 0]]]}, {},
         "antimeridian"),
        ({"type": "Polygon", "coordinates": [SQUARE]}, {"radius_m": 5}, "only for a Point"),
        ({"type": "GeometryCollection", "geometries": []}, {}, "not supported"),
        ({"coordinates": [1, 2]}, {}, "GeoJSON"),
    ],
)
def test_bad_shapes_say_why(area, extra, reason):  # type: ignore[no-untyped-def]
    with pytest.raises(GeometryError, match=reason):
        parse(area, **extra)


def test_good_shapes():
    square = parse({"type": "Polygon", "coordinates": [SQUARE]})
    assert square.kind == "polygon" and square.polygon is not None
    circle = parse({"type": "Point", "coordinates": [13.4, 52.5]}, radius_m=250)
    assert circle.kind == "circle" and circle.center == (13.4, 52.5)
    multi = parse({"type": "MultiPolygon", "coordinates": [[SQUARE], [[
        [14.0, 52.0], [14.01, 52.0], [14.01, 52.01], [14.0, 52.0]]]]})
    assert multi.kind == "polygon"


def test_corridor_is_as_wide_as_asked_in_metres():
    # An east-west road at 60°N: a degree of longitude is half as long as at the equator,
    # so a degree-sized buffer would be wrong; the corridor must be 100 m wide in metres.
    corridor = parse({"type": "LineString", "coordinates": [[10.0, 60.0], [10.2, 60.0]]},
                     width_m=100)
    assert corridor.kind == "corridor" and corridor.polygon is not None
    across = corridor.polygon.intersection(LineString([(10.1, 59.9), (10.1, 60.1)]))
    (_, south), (_, north) = across.coords
    width = geometry.GEOD.inv(10.1, south, 10.1, north)[2]
    assert 99.5 < width < 100.5
    west = corridor.polygon.bounds[0]
    assert 49 < geometry.GEOD.inv(west, 60.0, 10.0, 60.0)[2] < 51.5


def test_schedule_window_over_midnight_in_a_time_zone():
    checked = schedule.check({"time_zone": "Europe/Berlin", "days": ["fri"], "start": "22:00",
                              "end": "06:00"})
    assert checked is not None
    friday_late = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    saturday_early = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 05:00
    saturday_late = datetime(2026, 11, 28, 21, 30, tzinfo=UTC)
    assert schedule.is_active(checked, friday_late)
    assert schedule.is_active(checked, saturday_early)
    assert not schedule.is_active(checked, saturday_late)
    assert schedule.is_active(None, saturday_late)
    for bad in ({"time_zone": "Mars/Olympus"}, {"days": ["funday"]}, {"start": "25:00"},
                {"start": "08:00", "end": "08:00"}, {"colour": "red"}, "weekdays"):
        with pytest.raises(schedule.ScheduleError):
            schedule.check(bad)


def test_a_corridor_buffered_in_pieces_is_the_corridor_in_one_piece():
    # A winding road of 700 positions (metres, a local frame): the union of the pieces'
    # buffers is the whole line's buffer, to well under a square metre in 17 km².
    t = np.arange(700.0)
    road = np.column_stack([t * 30.0, np.sin(t / 25.0) * 400.0 + np.cos(t / 7.0) * 20.0])
    pieces = geometry._buffer_in_pieces(road, 25.0, 1000.0)
    whole = shapely.segmentize(shapely.LineString(road), 1000.0).buffer(25.0, quad_segs=8)
    assert pieces.geom_type == "Polygon"
    assert abs(pieces.area - whole.area) < 1.0
    assert pieces.symmetric_difference(whole).area < 1.0
