"""Distances and speeds between fixes on the Earth, shared by the pipeline and trips. Pure.

The distance is the haversine great circle on a sphere of the mean Earth radius, not the WGS 84
geodesic (`camtel.geofences.geometry` has that): stored `distance_m` and `total_distance_m`
values were computed this way, and trips must measure the same metres the pipeline added up.
"""

from __future__ import annotations

import math
from typing import Protocol

#: The mean Earth radius (IUGG), in metres.
EARTH_RADIUS_M = 6_371_008.8
#: A vehicle going faster than this (km/h) is moving; the pipeline's motion flag starts here,
#: and trips fall back to it for fixes without the flag.
START_KMH = 5.0


class Point(Protocol):
    """Anything with a latitude and longitude in degrees (a position, a row, a place)."""

    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance between two points (haversine), in metres."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def kmh(metres: float, seconds: float) -> float:
    """The speed, in km/h, of covering `metres` in `seconds` (which must not be 0)."""
    return metres / seconds * 3.6
