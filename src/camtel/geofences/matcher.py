"""Which fences hold which points: an STRtree over every fence, vectorised over batches.

Polygons and corridors are tested exactly in degrees (GEOS, prepared). Circles are found
by their bounding boxes, then kept or dropped by an ellipsoidal flat-earth distance; the
few points close to a circle's edge (or near a pole) are settled by the exact geodesic.
A brute-force reference (`tests/helpers/geofences.py`) gives the same answer, slowly; the
tests compare.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely
from shapely import STRtree, affinity

from camtel.geofences.geometry import (
    Shape,
    box_around,
    fast_distance_m,
    geodesic_distance_m,
    local_metres,
)

#: Where the fast circle test may be wrong: within this share of the radius (+ 1 m) of the
#: edge, or centres beyond this latitude, use the exact geodesic.
EDGE_SHARE = 0.005
POLAR_LAT = 80.0

#: Polygons with more vertices are cut into pieces for the index (like PostGIS
#: ST_Subdivide): long corridors get tight boxes, and each exact test stays small.
MAX_PIECE_VERTICES = 48

#: Points per pass of a batch.
CHUNK = 32_768

Pairs = tuple[np.ndarray, np.ndarray]


def subdivide(polygon: object, limit: int = MAX_PIECE_VERTICES, depth: int = 0) -> list[object]:
    """Pieces whose union is the polygon, each with at most about `limit` vertices."""
    if shapely.get_num_coordinates(polygon) <= limit or depth >= 12:
        return [polygon]
    west, south, east, north = shapely.bounds(polygon)
    if east - west >= north - south:
        middle = (west + east) / 2
        boxes = [(west, south, middle, north), (middle, south, east, north)]
    else:
        middle = (south + north) / 2
        boxes = [(west, south, east, middle), (west, middle, east, north)]
    pieces: list[object] = []
    for box in boxes:
        part = shapely.intersection(polygon, shapely.box(*box))
        for piece in shapely.get_parts(part):
            if shapely.get_type_id(piece) == 3 and not shapely.is_empty(piece):  # Polygon
                pieces.extend(subdivide(piece, limit, depth + 1))
    return pieces


def _empty() -> Pairs:
    return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)


class BoxGrid:
    """Boxes in a uniform grid of degree cells, for batch candidate search in NumPy alone.

    Making a shapely Point per position costs more than testing it, so batches find their
    candidate boxes here (a sorted array of cell keys and `searchsorted`), and only the
    candidates are tested exactly. Boxes covering more than `MAX_CELLS` cells (a few huge
    fences) are checked against every point instead.
    """

    MAX_CELLS = 1024

    def __init__(self, boxes: np.ndarray) -> None:
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        self.boxes = boxes
        self.count = len(boxes)
        sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        typical = float(np.median(sizes)) if len(sizes) else 1.0
        # Half the typical box: each box spans a few cells, each cell holds few boxes.
        self.cell = float(np.clip(typical / 2, 1e-4, 10.0))
        self.rows = int(np.ceil(180.0 / self.cell)) + 2
        ix0, iy0 = self._cells(boxes[:, 0], boxes[:, 1])
        ix1, iy1 = self._cells(boxes[:, 2], boxes[:, 3])
        nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
        cells = nx * ny
        huge = cells > self.MAX_CELLS
        self.huge = np.flatnonzero(huge)
        self.huge_boxes = boxes[huge]
        cells = np.where(huge, 0, cells)
        owner = np.repeat(np.arange(self.count), cells)
        local = np.arange(int(cells.sum())) - np.repeat(np.cumsum(cells) - cells, cells)
        keys = (ix0[owner] + local // ny[owner]) * self.rows + (iy0[owner] + local % ny[owner])
        order = np.argsort(keys, kind="stable")
        keys, self.owner = keys[order], owner[order]
        self.keys, self.starts, self.sizes = np.unique(keys, return_index=True, return_counts=True)

    def _cells(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ix = np.floor((np.asarray(lon) + 180.0) / self.cell).astype(np.int64)
        iy = np.floor((np.asarray(lat) + 90.0) / self.cell).astype(np.int64)
        return ix, iy

    def candidates(self, lon: np.ndarray, lat: np.ndarray) -> Pairs:
        """(point index, box index) for every box that holds a point (edges count); the
        exact test of the shape inside the box comes after."""
        ix, iy = self._cells(lon, lat)
        key = ix * self.rows + iy
        at = np.searchsorted(self.keys, key)
        at = np.minimum(at, max(len(self.keys) - 1, 0))
        hit = (self.keys[at] == key) if len(self.keys) else np.zeros(len(key), dtype=bool)
        counts = np.where(hit, self.sizes[at] if len(self.keys) else 0, 0)
        points = np.repeat(np.arange(len(key)), counts)
        first = np.repeat(np.where(hit, self.starts[at] if len(self.keys) else 0, 0), counts)
        local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        boxes = self.owner[first + local]
        if len(self.huge):
            extra_p, extra_b = [], []
            for h, (west, south, east, north) in zip(self.huge, self.huge_boxes, strict=True):
                inside = np.flatnonzero(
                    (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
                )
                extra_p.append(inside)
                extra_b.append(np.full(len(inside), h))
            points = np.concatenate([points, *extra_p])
            boxes = np.concatenate([boxes, *extra_b])
        x, y, box = lon[points], lat[points], self.boxes[boxes]
        inside = (x >= box[:, 0]) & (x <= box[:, 2]) & (y >= box[:, 1]) & (y <= box[:, 3])
        return points[inside].astype(np.intp), boxes[inside].astype(np.intp)


#: Up to this many boxes (polygon pieces and circle boxes), one fix is matched by a plain
#: loop instead of the trees.
FEW_BOXES = 32


class FenceIndex:
    """An immutable index of fence shapes; answers are fence positions in `shapes`."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        self.shapes = list(shapes)
        pieces, owners = [], []
        for i, shape in enumerate(self.shapes):
            if shape.polygon is not None:
                for piece in subdivide(shape.polygon):
                    pieces.append(piece)
                    owners.append(i)
        self._polygon_ids = np.asarray(owners, dtype=np.intp)
        polygons = np.array(pieces, dtype=object)
        shapely.prepare(polygons)
        self._polygons = polygons
        self._polygon_tree = STRtree(polygons) if pieces else None
        self._polygon_grid = BoxGrid(shapely.bounds(polygons)) if pieces else None
        self._pieces_split = len(set(owners)) != len(owners)
        circle_ids = [i for i, s in enumerate(self.shapes) if s.center is not None]
        self._circle_lon = np.zeros(len(self.shapes))
        self._circle_lat = np.zeros(len(self.shapes))
        self._radius = np.zeros(len(self.shapes))
        boxes, owners = [], []
        for i in circle_ids:
            shape = self.shapes[i]
            assert shape.center is not None and shape.radius_m is not None
            self._circle_lon[i], self._circle_lat[i] = shape.center
            self._radius[i] = shape.radius_m
            for bounds in shape.bounds():
                boxes.append(shapely.box(*bounds))
                owners.append(i)
        self._box_owner = np.asarray(owners, dtype=np.intp)
        self._circle_tree = STRtree(boxes) if boxes else None
        self._circle_grid = (
            BoxGrid(shapely.bounds(np.array(boxes, dtype=object))) if boxes else None
        )
        self._split = len(boxes) != len(circle_ids)
        self._scaled: dict[int, tuple[object, float, float]] = {}
        # A handful of fences (a depot, a city): one fix is checked against their boxes in
        # plain Python, cheaper than making a probe geometry and asking a tree.
        self._few: list[tuple[float, float, float, float, int, bool]] | None = None
        if len(pieces) + len(boxes) <= FEW_BOXES:
            few = [
                (float(w), float(s_), float(e), float(n), int(i), True)
                for (w, s_, e, n), i in zip(
                    shapely.bounds(polygons).reshape(-1, 4), self._polygon_ids, strict=True
                )
            ]
            few += [
                (float(w), float(s_), float(e), float(n), int(i), False)
                for (w, s_, e, n), i in zip(
                    shapely.bounds(np.array(boxes, dtype=object)).reshape(-1, 4),
                    self._box_owner,
                    strict=True,
                )
            ]
            self._few = few

    def __len__(self) -> int:
        return len(self.shapes)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> Pairs:
        """(point index, fence index) for every fence that holds a point (edges count),
        sorted by point then fence."""
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if lon.size == 0 or not self.shapes:
            return _empty()
        if lon.size > CHUNK:  # keeps the candidate arrays in cache
            parts = [
                self.contains(lon[at : at + CHUNK], lat[at : at + CHUNK])
                for at in range(0, lon.size, CHUNK)
            ]
            starts = range(0, lon.size, CHUNK)
            return (
                np.concatenate([p + at for (p, _), at in zip(parts, starts, strict=True)]),
                np.concatenate([f for _, f in parts]),
            )
        found: list[Pairs] = []
        if self._polygon_grid is not None:
            p, t = self._polygon_grid.candidates(lon, lat)
            keep = shapely.intersects_xy(self._polygons[t], lon[p], lat[p])
            p, t = p[keep], t[keep]
            found.append(self._once(p, self._polygon_ids[t], self._pieces_split))
        if self._circle_grid is not None:
            found.append(self._circles(lon, lat))
        point_idx = np.concatenate([f[0] for f in found])
        fence_idx = np.concatenate([f[1] for f in found])
        order = np.lexsort((fence_idx, point_idx))
        return point_idx[order], fence_idx[order]

    def _circles(self, lon: np.ndarray, lat: np.ndarray) -> Pairs:
        assert self._circle_grid is not None
        p, b = self._circle_grid.candidates(lon, lat)
        p, f = self._once(p, self._box_owner[b], self._split)
        clon, clat, radius = self._circle_lon[f], self._circle_lat[f], self._radius[f]
        distance = fast_distance_m(clon, clat, lon[p], lat[p])
        inside = distance <= radius
        doubtful = (np.abs(distance - radius) <= radius * EDGE_SHARE + 1.0) | (
            np.abs(clat) >= POLAR_LAT
        )
        if doubtful.any():
            exact = geodesic_distance_m(
                clon[doubtful], clat[doubtful], lon[p][doubtful], lat[p][doubtful]
            )
            inside[doubtful] = exact <= radius[doubtful]
        return p[inside].astype(np.intp), f[inside].astype(np.intp)

    def _once(self, p: np.ndarray, f: np.ndarray, split: bool) -> Pairs:
        """Pairs without repeats (a point in two pieces of one fence counts once)."""
        if not split or p.size == 0:
            return p, f
        key = np.unique(p.astype(np.int64) * len(self.shapes) + f)
        return (key // len(self.shapes)).astype(np.intp), (key % len(self.shapes)).astype(np.intp)

    def contains_parallel(self, lon: np.ndarray, lat: np.ndarray, threads: int = 0) -> Pairs:
        """`contains` over slices of the batch in threads (GEOS and NumPy release the GIL)."""
        threads = threads or os.cpu_count() or 1
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if threads == 1 or lon.size < 20_000:
            return self.contains(lon, lat)
        bounds = np.linspace(0, lon.size, threads + 1).astype(int)
        with ThreadPoolExecutor(threads) as pool:
            parts = list(
                pool.map(
                    lambda ab: self.contains(lon[ab[0] : ab[1]], lat[ab[0] : ab[1]]),
                    itertools.pairwise(bounds),
                )
            )
        point_idx = np.concatenate([p + a for (p, _), a in zip(parts, bounds[:-1], strict=True)])
        return point_idx, np.concatenate([f for _, f in parts])

    def signed_distances(self, lon: float, lat: float, reach_m: float) -> dict[int, float]:
        """Fences whose edge is within `reach_m` of one point, or that hold it: fence index
        -> metres from the edge, positive inside. Fences left out are farther outside."""
        return self.signed_distances_many([lon], [lat], reach_m)[0]

    def signed_distances_many(
        self, lons: Sequence[float], lats: Sequence[float], reach_m: float
    ) -> list[dict[int, float]]:
        """`signed_distances` of many points at once, with the same answers: a polygon near
        several of them measures them all in one call into GEOS (a call per fix cost more
        than the measuring, see docs/performance.md)."""
        outs: list[dict[int, float]] = [{} for _ in lons]
        if self._polygon_tree is None and self._circle_tree is None:
            return outs
        by_polygon: dict[int, list[int]] = {}
        for n, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
            polygons, circles = self._near(lon, lat, reach_m)
            for i in polygons:
                by_polygon.setdefault(i, []).append(n)
            out = outs[n]
            for i in circles:
                if i in polygons or i in out:
                    continue
                clon, clat, radius = self._circle_lon[i], self._circle_lat[i], self._radius[i]
                distance = float(fast_distance_m(clon, clat, lon, lat))
                if abs(distance - radius) <= reach_m + radius * EDGE_SHARE + 1.0 or (
                    abs(clat) >= POLAR_LAT
                ):
                    distance = float(geodesic_distance_m(clon, clat, lon, lat))
                out[i] = float(radius) - distance
        for i, points in by_polygon.items():
            x = np.fromiter((lons[n] for n in points), float, len(points))
            y = np.fromiter((lats[n] for n in points), float, len(points))
            for n, distance in zip(points, self._polygon_distances(i, x, y), strict=True):
                outs[n][i] = distance
        return [{i: d for i, d in out.items() if d >= -reach_m} for out in outs]

    def _near(self, lon: float, lat: float, reach_m: float) -> tuple[set[int], list[int]]:
        """Polygons and circles whose boxes come within `reach_m` of a point."""
        if self._few is not None:
            return self._few_near(lon, lat, reach_m)
        probe = box_around(lon, lat, reach_m)
        polygons = (
            {int(self._polygon_ids[t]) for t in self._polygon_tree.query(probe)}
            if self._polygon_tree is not None
            else set()
        )
        circles = (
            [int(self._box_owner[b]) for b in self._circle_tree.query(probe)]
            if self._circle_tree is not None
            else []
        )
        return polygons, circles

    def _few_near(self, lon: float, lat: float, reach_m: float) -> tuple[set[int], list[int]]:
        """Fences (polygons, circles) whose boxes come within `reach_m` of the point: what
        `box_around` and the trees answer, by comparing floats."""
        per_lon, per_lat = local_metres(lon, min(89.0, abs(lat)))
        dx = reach_m / max(per_lon, 1.0) * 1.05
        dy = reach_m / per_lat * 1.05
        west, east, south, north = lon - dx, lon + dx, lat - dy, lat + dy
        polygons: set[int] = set()
        circles: list[int] = []
        assert self._few is not None
        for box_w, box_s, box_e, box_n, i, polygon in self._few:
            if box_w <= east and west <= box_e and box_s <= north and south <= box_n:
                if polygon:
                    polygons.add(i)
                else:
                    circles.append(i)
        return polygons, circles

    def _polygon_distances(self, i: int, x: np.ndarray, y: np.ndarray) -> list[float]:
        """Metres from polygon `i`'s edge to each point (x = longitudes, y = latitudes),
        positive inside."""
        # In a frame scaled to metres around the fence, degrees of longitude and latitude
        # weigh the same, so "how far from the edge" is a true local distance (to well under
        # a metre near the edge, which is where it decides anything).
        polygon = self.shapes[i].polygon
        assert polygon is not None
        frame = self._scaled.get(i)
        if frame is None:
            centre = polygon.centroid
            per_lon, per_lat = local_metres(centre.x, centre.y)
            edge = affinity.scale(polygon.boundary, per_lon, per_lat, origin=(0.0, 0.0))
            shapely.prepare(edge)
            frame = self._scaled[i] = (edge, per_lon, per_lat)
        edge, per_lon, per_lat = frame
        here = shapely.points(x * per_lon, y * per_lat)
        distances = shapely.distance(edge, here)
        inside = shapely.intersects_xy(polygon, x, y)
        return [float(d) if h else -float(d) for d, h in zip(distances, inside, strict=True)]

