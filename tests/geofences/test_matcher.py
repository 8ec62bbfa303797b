"""The spatial index agrees with checking every point against every fence, on random data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camtel.geofences import geometry
from camtel.geofences.matcher import FenceIndex
from helpers.geofences import brute_force

lon_ = st.floats(-179.5, 179.5)
lat_ = st.floats(-85, 85)


@st.composite
def circle(draw):  # type: ignore[no-untyped-def]
    lon, lat = draw(lon_), draw(lat_)
    radius = draw(st.floats(geometry.MIN_RADIUS_M, geometry.MAX_RADIUS_M))
    return geometry.parse({"type": "Point", "coordinates": [lon, lat]}, radius_m=radius)


@st.composite
def polygon(draw):  # type: ignore[no-untyped-def]
    lon, lat = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
    size = draw(st.floats(0.001, 2.0))
    corners = draw(st.integers(3, 9))
    angles = np.sort(np.array(draw(st.lists(st.floats(0, 2 * np.pi - 1e-6), min_size=corners,
                                            max_size=corners, unique=True))))
    radii = np.array(draw(st.lists(st.floats(0.3, 1.0), min_size=corners, max_size=corners)))
    ring = [[lon + size * r * np.cos(a), lat + size * r * np.sin(a)]
            for a, r in zip(angles, radii, strict=True)]
    ring.append(ring[0])
    try:
        return geometry.parse({"type": "Polygon", "coordinates": [ring]})
    except geometry.GeometryError:
        return geometry.parse({"type": "Point", "coordinates": [lon, lat]}, radius_m=500.0)


@st.composite
def corridor(draw):  # type: ignore[no-untyped-def]
    lon, lat = draw(st.floats(-170, 170)), draw(st.floats(-75, 75))
    steps = draw(st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)),
                          min_size=1, max_size=4))
    points = [[lon, lat]]
    for dx, dy in steps:
        points.append([points[-1][0] + dx + 1e-4, points[-1][1] + dy])
    width = draw(st.floats(10, 2000))
    return geometry.parse({"type": "LineString", "coordinates": points}, width_m=width)


def points_near(shapes, draw, count):  # type: ignore[no-untyped-def]
    """Points scattered around the fences (most checks are then close calls)."""
    lon, lat = [], []
    for _ in range(count):
        shape = shapes[draw(st.integers(0, len(shapes) - 1))]
        west, south, east, north = shape.bounds()[0]
        fx, fy = draw(st.floats(-0.2, 1.2)), draw(st.floats(-0.2, 1.2))
        lon.append(float(np.clip(west + fx * (east - west), -180, 180)))
        lat.append(float(np.clip(south + fy * (north - south), -90, 90)))
    return np.array(lon), np.array(lat)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_index_matches_brute_force(data):  # type: ignore[no-untyped-def]
    shapes = data.draw(st.lists(st.one_of(circle(), polygon(), corridor()), min_size=1,
                                max_size=12))
    lon, lat = points_near(shapes, data.draw, 60)
    index = FenceIndex(shapes)
    got = index.contains(lon, lat)
    want = brute_force(shapes, lon, lat)
    assert set(zip(*map(list, got), strict=True)) == set(zip(*map(list, want), strict=True))


def test_circle_edge_is_geodesic_and_exact():
    # 1000 m circle at 60°N: a point 999.9 m away is in, 1000.1 m is out, in every direction.
    shape = geometry.parse({"type": "Point", "coordinates": [10.0, 60.0]}, radius_m=1000)
    index = FenceIndex([shape])
    azimuths = np.arange(0, 360, 15.0)
    lon_in, lat_in, _ = geometry.GEOD.fwd(np.full(24, 10.0), np.full(24, 60.0), azimuths,
                                          np.full(24, 999.9))
    lon_out, lat_out, _ = geometry.GEOD.fwd(np.full(24, 10.0), np.full(24, 60.0), azimuths,
                                            np.full(24, 1000.1))
    assert len(index.contains(lon_in, lat_in)[0]) == 24
    assert len(index.contains(lon_out, lat_out)[0]) == 0


def test_circle_across_the_antimeridian_counts_once():
    shape = geometry.parse({"type": "Point", "coordinates": [179.999, 0.0]}, radius_m=5000)
    assert len(shape.bounds()) == 2
    index = FenceIndex([shape, shape])
    points, fences = index.contains(np.array([-179.99, 179.99, 0.0]), np.array([0.0, 0.0, 0.0]))
    assert list(points) == [0, 0, 1, 1] and list(fences) == [0, 1, 0, 1]


def test_signed_distances_in_metres():
    circle_ = geometry.parse({"type": "Point", "coordinates": [13.4, 52.5]}, radius_m=100)
    square = geometry.parse({"type": "Polygon", "coordinates": [
        [[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]]})
    index = FenceIndex([circle_, square])
    lon, lat, _ = geometry.GEOD.fwd(13.4, 52.5, 90, 90)
    assert abs(index.signed_distances(lon, lat, 20)[0] - 10) < 0.01
    lon, lat, _ = geometry.GEOD.fwd(13.4, 52.5, 90, 115)
    assert abs(index.signed_distances(lon, lat, 20)[0] + 15) < 0.01
    assert index.signed_distances(13.4, 52.6, 20) == {}
    # 0.0001° of latitude is about 11.1 m: just inside the south edge, then just outside.
    assert abs(index.signed_distances(13.005, 52.0001, 20)[1] - 11.13) < 0.1
    assert abs(index.signed_distances(13.005, 51.9999, 20)[1] + 11.13) < 0.1


def test_a_batch_measures_each_fix_against_the_fences_near_it():
    square = geometry.parse({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 52.0],
                             [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]]})
    ring = geometry.parse({"type": "Point", "coordinates": [13.3, 52.3]}, radius_m=100.0)
    index = FenceIndex([square, ring])
    inside, outside, far, circle = (13.005, 52.005), (13.005, 51.9999), (14.0, 53.0), (13.3, 52.3)
    got = index.signed_distances_many(*zip(inside, outside, far, circle, strict=True), 20)
    assert got[0] == {0: pytest.approx(343.4, abs=1)} and got[2] == {}  # 0.005° of longitude
    assert got[1] == {0: pytest.approx(-11.13, abs=0.1)} and got[3] == {1: pytest.approx(100)}


def test_empty_index_and_empty_batch():
    assert FenceIndex([]).contains(np.array([1.0]), np.array([2.0]))[0].size == 0
    shape = geometry.parse({"type": "Point", "coordinates": [0, 0]}, radius_m=10)
    assert FenceIndex([shape]).contains(np.array([]), np.array([]))[0].size == 0


def test_long_corridor_is_cut_into_pieces_and_still_matches():
    road = geometry.parse({"type": "LineString", "coordinates": [
        [13.0, 52.0], [13.3, 52.2], [13.1, 52.5], [13.6, 52.6]]}, width_m=300)
    index = FenceIndex([road])
    assert len(index._polygons) > 1  # subdivided for tight boxes
    rng = np.random.default_rng(3)
    west, south, east, north = road.bounds()[0]
    lon = rng.uniform(west, east, 20_000)
    lat = rng.uniform(south, north, 20_000)
    got = index.contains(lon, lat)
    want = brute_force([road], lon, lat)
    assert len(want[0]) > 100
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    parallel = index.contains_parallel(lon, lat, threads=3)
    assert np.array_equal(parallel[0], want[0])


def test_mixed_sizes_use_the_huge_box_fallback():
    rng = np.random.default_rng(5)
    shapes = [geometry.parse({"type": "Point", "coordinates": [float(x), float(y)]},
                             radius_m=30.0)
              for x, y in zip(rng.uniform(5, 6, 200), rng.uniform(50, 51, 200), strict=True)]
    shapes.append(geometry.parse({"type": "Point", "coordinates": [5.5, 50.5]},
                                 radius_m=geometry.MAX_RADIUS_M))
    shapes.append(geometry.parse({"type": "Polygon", "coordinates": [
        [[4.0, 49.0], [7.0, 49.0], [7.0, 52.0], [4.0, 49.0]]]}))
    index = FenceIndex(shapes)
    assert index._circle_grid is not None and len(index._circle_grid.huge) == 1
    lon, lat = rng.uniform(3.5, 7.5, 3000), rng.uniform(48.5, 52.5, 3000)
    lon[:200] = [s.center[0] for s in shapes[:200]]  # some right in the small circles
    lat[:200] = [s.center[1] for s in shapes[:200]]
    got = index.contains(lon, lat)
    want = brute_force(shapes, lon, lat)
    assert len(want[0]) > 1000
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_few_fences_checked_by_a_loop_answer_as_the_trees_do(data):  # type: ignore[no-untyped-def]
    # Up to FEW_BOXES boxes, one fix is matched by comparing floats instead of the trees: the
    # same fences, the same signed distances, near edges and far away alike.
    shapes = data.draw(st.lists(st.one_of(circle(), polygon(), corridor()), min_size=1,
                                max_size=6))
    lon, lat = points_near(shapes, data.draw, 40)
    reach = data.draw(st.floats(1.0, 500.0))
    few = FenceIndex(shapes)
    trees = FenceIndex(shapes)
    trees._few = None
    assert few._few is not None or len(shapes) > 3, "small indexes take the loop"
    for x, y in zip(lon, lat, strict=True):
        assert few.signed_distances(float(x), float(y), reach) == trees.signed_distances(
            float(x), float(y), reach
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_batch_of_fixes_is_measured_as_each_fix_alone(data):  # type: ignore[no-untyped-def]
    # The pipeline measures a batch's fixes against each fence in one call: the very same
    # signed distances as one fix at a time, with the loop and with the trees.
    shapes = data.draw(st.lists(st.one_of(circle(), polygon(), corridor()), min_size=1,
                                max_size=40))
    lon, lat = points_near(shapes, data.draw, 50)
    reach = data.draw(st.floats(1.0, 500.0))
    index = FenceIndex(shapes)
    xs, ys = [float(x) for x in lon], [float(y) for y in lat]
    alone = [index.signed_distances(x, y, reach) for x, y in zip(xs, ys, strict=True)]
    assert index.signed_distances_many(xs, ys, reach) == alone
