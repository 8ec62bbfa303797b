"""Fence shapes: GeoJSON checked with clear errors, circles and corridors made geodesic. Pure.

Polygons follow RFC 7946: edges are straight lines in longitude/latitude, so a point test
in degrees is exact. A circle is a centre and a radius on the WGS 84 ellipsoid (tested by
geodesic distance, never by a degree-sized disc). A corridor is a line buffered by half its
width in a local azimuthal-equidistant frame, where metres are metres, then brought back
to degrees with its curved edges densified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape

GEOD = Geod(ellps="WGS84")
WGS84_A = 6_378_137.0
WGS84_E2 = 6.69437999014e-3

MIN_RADIUS_M = 1.0
#: Bigger areas are regions: draw them as polygons (a circle's fast test is local).
MAX_RADIUS_M = 100_000.0
MIN_WIDTH_M = 1.0
MAX_WIDTH_M = 20_000.0
MAX_CORRIDOR_M = 2_000_000.0
MAX_POSITIONS = 10_000

KINDS = ("polygon", "circle", "corridor")


class GeometryError(ValueError):
    """A fence shape camtel will not accept; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A checked fence shape.

    `area` is the GeoJSON to store; `polygon` is what a point is tested against for polygons
    and corridors (degrees); a circle keeps its centre and radius instead.
    """

    kind: str
    area: dict[str, Any]
    radius_m: float | None = None
    width_m: float | None = None
    polygon: Polygon | MultiPolygon | None = None
    center: tuple[float, float] | None = None  # (lon, lat)

    def bounds(self) -> list[tuple[float, float, float, float]]:
        """Boxes in degrees that hold the whole shape (two when a circle spans 180°)."""
        if self.polygon is not None:
            return [tuple(self.polygon.bounds)]
        assert self.center is not None and self.radius_m is not None
        return circle_boxes(self.center[0], self.center[1], self.radius_m)


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise GeometryError(f"{where}: a position is [longitude, latitude] (optionally altitude)")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise GeometryError(f"{where}: coordinates must be numbers")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError(f"{where}: coordinates must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise GeometryError(
            f"{where}: latitude {lat:g} is outside -90..90 (WGS 84; GeoJSON positions are "
            "[longitude, latitude])"
        )
    if not -180.0 <= lon <= 180.0:
        raise GeometryError(f"{where}: longitude {lon:g} is outside -180..180 (WGS 84)")
    return lon, lat


def _positions(value: Any, where: str, *, least: int) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise GeometryError(f"{where}: expected a list of positions")
    if len(value) > MAX_POSITIONS:
        raise GeometryError(f"{where}: at most {MAX_POSITIONS} positions")
    points = [_position(p, f"{where}[{i}]") for i, p in enumerate(value)]
    if len(points) < least:
        raise GeometryError(f"{where}: needs at least {least} positions, has {len(points)}")
    return points


def _ring(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise GeometryError(f"{where}: a ring is a list of positions")
    points = [_position(p, f"{where}[{i}]") for i, p in enumerate(value)]
    if len(points) < 4:
        raise GeometryError(
            f"{where}: a ring needs at least 4 positions (3 corners, then the first again); "
            f"it has {len(points)}"
        )
    if len(points) > MAX_POSITIONS:
        raise GeometryError(f"{where}: at most {MAX_POSITIONS} positions")
    if points[0] != points[-1]:
        raise GeometryError(
            f"{where}: the ring is open: its last position must repeat the first "
            f"({points[0][0]:g}, {points[0][1]:g})"
        )
    if len(set(points)) < 3:
        raise GeometryError(f"{where}: a ring needs 3 distinct corners")
    return points


def _polygon(rings: Any, where: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise GeometryError(f"{where}: a polygon is a list of rings (the outline, then holes)")
    checked = [_ring(r, f"{where}[{i}]") for i, r in enumerate(rings)]
    polygon = Polygon(checked[0], checked[1:])
    if polygon.convex_hull.area <= 0:
        raise GeometryError(f"{where}: the polygon has no area (its corners are on one line)")
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        if "Self-intersection" in reason or "Ring Self-intersection" in reason:
            raise GeometryError(f"{where}: the polygon crosses itself ({reason})")
        raise GeometryError(f"{where}: the polygon is not valid ({reason})")
    if polygon.area <= 0:
        raise GeometryError(f"{where}: the polygon has no area")
    west, _, east, _ = polygon.bounds
    if east - west > 180:
        raise GeometryError(
            f"{where}: the polygon spans more than 180° of longitude; cut it at the "
            "antimeridian into a MultiPolygon (RFC 7946 §3.1.9)"
        )
    return polygon


def _number(value: Any, name: str, low: float, high: float) -> float:
    if value is None:
        raise GeometryError(f"`{name}` is required for this kind of area")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GeometryError(f"`{name}` must be a number of metres")
    if not low <= value <= high:
        raise GeometryError(f"`{name}` must be between {low:g} and {high:g} metres, not {value:g}")
    return float(value)


def parse(area: Any, *, radius_m: float | None = None, width_m: float | None = None) -> Shape:
    """Check a GeoJSON geometry (and its radius or width) and build the fence shape."""
    if not isinstance(area, dict) or not isinstance(area.get("type"), str):
        raise GeometryError("`area` must be a GeoJSON geometry object with a `type`")
    kind = area["type"]
    if kind not in ("Point", "LineString", "Polygon", "MultiPolygon"):
        raise GeometryError(
            f"area type {kind!r} is not supported: use Polygon, MultiPolygon, Point with "
            "radius_m (a circle) or LineString with width_m (a corridor)"
        )
    coordinates = area.get("coordinates")
    if coordinates is None:
        raise GeometryError("`area` has no `coordinates`")
    if kind == "Point":
        lon, lat = _position(coordinates, "area.coordinates")
        radius = _number(radius_m, "radius_m", MIN_RADIUS_M, MAX_RADIUS_M)
        if width_m is not None:
            raise GeometryError("`width_m` is for a LineString corridor, not a Point")
        return Shape(
            "circle",
            {"type": "Point", "coordinates": [lon, lat]},
            radius_m=radius,
            center=(lon, lat),
        )
    if radius_m is not None:
        raise GeometryError("`radius_m` is only for a Point area (a circle)")
    if kind == "LineString":
        points = _positions(coordinates, "area.coordinates", least=2)
        width = _number(width_m, "width_m", MIN_WIDTH_M, MAX_WIDTH_M)
        polygon = corridor_polygon(points, width)
        return Shape(
            "corridor",
            {"type": "LineString", "coordinates": [list(p) for p in points]},
            width_m=width,
            polygon=polygon,
        )
    if width_m is not None:
        raise GeometryError("`width_m` is only for a LineString area (a corridor)")
    if kind == "Polygon":
        polygon = _polygon(coordinates, "area.coordinates")
        return Shape("polygon", _geojson(polygon), polygon=polygon)
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeometryError("area.coordinates: a MultiPolygon is a list of polygons")
        parts = [_polygon(p, f"area.coordinates[{i}]") for i, p in enumerate(coordinates)]
        multi = MultiPolygon(parts)
        if not multi.is_valid:
            raise GeometryError(
                f"area: the polygons overlap or touch ({shapely.is_valid_reason(multi)})"
            )
        return Shape("polygon", _geojson(multi), polygon=multi)
    raise GeometryError(
        f"area type {kind!r} is not supported: use Polygon, MultiPolygon, Point with radius_m "
        "(a circle) or LineString with width_m (a corridor)"
    )


def _geojson(geometry: Polygon | MultiPolygon) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return [plain(v) for v in value] if isinstance(value, list | tuple) else value

    out = mapping(geometry)
    return {"type": out["type"], "coordinates": plain(out["coordinates"])}


def from_stored(
    kind: str, area: dict[str, Any], radius_m: float | None, width_m: float | None
) -> Shape:
    """Rebuild a shape from a stored fence (already checked when it was saved)."""
    if kind == "circle":
        lon, lat = area["coordinates"][:2]
        return Shape(kind, area, radius_m=radius_m, center=(float(lon), float(lat)))
    if kind == "corridor":
        points = [(float(p[0]), float(p[1])) for p in area["coordinates"]]
        assert width_m is not None
        return Shape(kind, area, width_m=width_m, polygon=corridor_polygon(points, width_m))
    return Shape(kind, area, polygon=shape(area))


# Geodesy


def _local_frame(lon: float, lat: float) -> Transformer:
    """Degrees <-> metres in an azimuthal-equidistant frame centred on (lon, lat), WGS 84.

    A PROJ pipeline, not a CRS pair: building it takes 0.2 ms instead of 30 ms, which
    matters when an organisation's thousands of corridors are loaded.
    """
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84"
    )


def corridor_polygon(points: list[tuple[float, float]], width_m: float) -> Polygon:
    """The area within `width_m / 2` of a line, built in metres and returned in degrees."""
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    length = float(GEOD.line_length(lons, lats))
    if length <= 0:
        raise GeometryError("area.coordinates: the corridor's positions are all the same")
    if length > MAX_CORRIDOR_M:
        raise GeometryError(
            f"the corridor is {length / 1000:.0f} km long; at most {MAX_CORRIDOR_M / 1000:g} km"
        )
    if float(lons.max() - lons.min()) > 180:
        raise GeometryError("the corridor crosses the antimeridian; split it in two fences")
    mid_lon, mid_lat = _line_middle(lons, lats)
    frame = _local_frame(mid_lon, mid_lat)
    x, y = frame.transform(lons, lats)
    # Densify so the metric line follows the geodesic between the positions, and so that no
    # edge is long enough for "straight in metres" and "straight in degrees" to part by more
    # than centimetres (at 1 km they part by about 2 cm). Round ends: 8 segments a quarter.
    step = max(1000.0, length / 1000)
    buffered = _buffer_in_pieces(np.column_stack([x, y]), width_m / 2, step)
    ring = np.asarray(buffered.exterior.coords)
    out_lon, out_lat = frame.transform(ring[:, 0], ring[:, 1], direction="INVERSE")
    holes = []
    for interior in buffered.interiors:
        inner = np.asarray(interior.coords)
        hx, hy = frame.transform(inner[:, 0], inner[:, 1], direction="INVERSE")
        holes.append(np.column_stack([hx, hy]))
    polygon = Polygon(np.column_stack([out_lon, out_lat]), holes)
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
        if not isinstance(polygon, Polygon | MultiPolygon):
            polygon = polygon.buffer(0)
    if float(np.max(out_lat)) > 89.9 or float(np.min(out_lat)) < -89.9:
        raise GeometryError("the corridor reaches a pole; keep corridors away from the poles")
    return polygon


#: Positions per piece of a corridor buffered on its own (see `_buffer_in_pieces`).
PIECE = 16


def _buffer_in_pieces(xy: np.ndarray, distance: float, step: float) -> Polygon:
    """The area within `distance` of a metric line, as the union of the buffers of pieces of
    `PIECE` positions: the same area (round caps and joins make the pieces meet as the whole
    line's buffer would), but GEOS's cost grows with the crossings *within* what it buffers at
    once, and a line that zigzags back over itself 4,000 times took 23 s in one piece (a
    hostile fence would hold the process that long) against 0.4 s in pieces."""
    pieces = [LineString(xy[i : i + PIECE + 1]) for i in range(0, len(xy) - 1, PIECE)]
    pieces = shapely.segmentize(pieces, step)
    merged = shapely.union_all(shapely.buffer(pieces, distance, quad_segs=8))
    if isinstance(merged, Polygon):
        return merged
    # Pieces share their end positions, so their buffers always overlap; should rounding
    # ever part them, the whole line in one piece is the reference.
    whole: Polygon = shapely.segmentize(LineString(xy), step).buffer(distance, quad_segs=8)
    return whole


def _line_middle(lons: np.ndarray, lats: np.ndarray) -> tuple[float, float]:
    west, east = float(lons.min()), float(lons.max())
    south, north = float(lats.min()), float(lats.max())
    return (west + east) / 2, (south + north) / 2


def circle_boxes(
    lon: float, lat: float, radius_m: float
) -> list[tuple[float, float, float, float]]:
    """Boxes in degrees around a geodesic circle, split at the antimeridian, padded."""
    reach = radius_m * 1.01 + 1.0
    dlat = math.degrees(reach / min(meridian_radius(lat), meridian_radius(0.0))) * 1.01
    north, south = lat + dlat, lat - dlat
    if north >= 89.0 or south <= -89.0:
        return [(-180.0, max(-90.0, south), 180.0, min(90.0, north))]
    # Conservative: the degree of longitude is shortest at the poleward edge.
    per_lon, _ = local_metres(lon, max(abs(north), abs(south)))
    half = reach / per_lon * 1.01
    if half >= 180:
        return [(-180.0, south, 180.0, north)]
    west, east = lon - half, lon + half
    if west < -180:
        return [(-180.0, south, east, north), (west + 360, south, 180.0, north)]
    if east > 180:
        return [(west, south, 180.0, north), (-180.0, south, east - 360, north)]
    return [(west, south, east, north)]


def meridian_radius(lat: float) -> float:
    """Radius of curvature along a meridian (north-south), metres."""
    s = math.sin(math.radians(lat))
    return WGS84_A * (1 - WGS84_E2) / (1 - WGS84_E2 * s * s) ** 1.5


def prime_radius(lat: float) -> float:
    """Radius of curvature across a meridian (east-west), metres."""
    s = math.sin(math.radians(lat))
    return WGS84_A / math.sqrt(1 - WGS84_E2 * s * s)


def geodesic_distance_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray:
    """Exact WGS 84 geodesic distance (Karney's algorithm in PROJ), vectorised."""
    _, _, distance = GEOD.inv(
        np.broadcast_to(lon1, np.shape(lon2)) if np.ndim(lon1) == 0 else lon1,
        np.broadcast_to(lat1, np.shape(lat2)) if np.ndim(lat1) == 0 else lat1,
        lon2,
        lat2,
    )
    return np.asarray(distance)


@overload
def fast_distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float: ...


@overload
def fast_distance_m(
    lon1: np.ndarray | float, lat1: np.ndarray | float, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray: ...


def fast_distance_m(
    lon1: np.ndarray | float,
    lat1: np.ndarray | float,
    lon2: np.ndarray | float,
    lat2: np.ndarray | float,
) -> np.ndarray | float:
    """Ellipsoidal flat-earth distance at the mean latitude: within 0.1% below 100 km away
    from the poles, and a hundred times faster than the exact geodesic."""
    mean = np.radians((lat1 + lat2) / 2)
    s2 = np.sin(mean) ** 2
    w = np.sqrt(1 - WGS84_E2 * s2)
    m = WGS84_A * (1 - WGS84_E2) / (w * w * w)
    n = WGS84_A / w
    dlon = (lon2 - lon1 + 180.0) % 360.0 - 180.0
    dx = np.radians(dlon) * n * np.cos(mean)
    dy = np.radians(lat2 - lat1) * m
    return np.hypot(dx, dy)


def local_metres(lon0: float, lat0: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude around (lon0, lat0)."""
    return (
        prime_radius(lat0) * math.cos(math.radians(lat0)) * math.pi / 180,
        meridian_radius(lat0) * math.pi / 180,
    )


def box_around(lon: float, lat: float, metres: float) -> Polygon:
    """A small box in degrees holding every point within `metres` of (lon, lat)."""
    per_lon, per_lat = local_metres(lon, min(89.0, abs(lat)))
    dx = metres / max(per_lon, 1.0) * 1.05
    dy = metres / per_lat * 1.05
    # shapely.box makes the geometry in C (~3 µs); shapely.geometry.box goes through the
    # Python Polygon constructor (~11 µs), once per fix on the ingest path.
    return shapely.box(lon - dx, lat - dy, lon + dx, lat + dy)
