"""Geofence matching: camtel's vectorised STRtree matcher against PostGIS, side by side.

    python bench/geofence.py [--fences 10000] [--positions 1000000] [--pg-positions N]

Builds a city-sized region (Berlin and 100 km around) with a mix of fences (polygons,
geodesic circles, corridors along roads), scatters positions over it, and times "which
fences hold each position" three ways:

- camtel `FenceIndex.contains` over batches (what a batch or replay path uses),
- camtel `FenceIndex.signed_distances` one fix at a time (what the pipeline stage does),
- PostGIS on the local PostgreSQL: `ST_Contains` on a GiST-indexed geometry for polygons and
  corridors, `ST_DWithin` on geography (spheroid) for circles after a GiST box test, in a
  throw-away database.

Both sides count their matches, so the table also shows that they agree. PostGIS is
installed in the set-up when missing (`apt-get install -y postgresql-15-postgis-3`, as root).
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import subprocess
import sys
import time

import numpy as np

from camtel.geofences import geometry
from camtel.geofences.matcher import FenceIndex

PG_ADMIN = os.environ.get("CAMTEL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
#: "city": Berlin and 50 km around (~95 x 100 km; a position lies in several fences: the
#: hard case); "country": Germany-sized (~620 x 890 km; most positions are in no fence).
REGIONS = {"city": ((13.405, 52.52), (1.4, 0.9)), "country": ((10.5, 51.25), (9.0, 8.0))}
CENTRE, SPAN_DEG = REGIONS["city"]


def make_fences(count: int, rng: np.random.Generator) -> list[geometry.Shape]:
    """40% polygons, 45% circles, 15% corridors, sizes from a yard to a district."""
    shapes = []
    for _ in range(count):
        lon = CENTRE[0] + rng.uniform(-SPAN_DEG[0], SPAN_DEG[0]) / 2
        lat = CENTRE[1] + rng.uniform(-SPAN_DEG[1], SPAN_DEG[1]) / 2
        pick = rng.random()
        if pick < 0.40:
            corners = int(rng.integers(4, 24))
            angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
            size = rng.uniform(0.001, 0.03)
            radii = rng.uniform(0.4, 1.0, corners) * size
            ring = [
                [lon + r * np.cos(a) / np.cos(np.radians(lat)), lat + r * np.sin(a)]
                for a, r in zip(angles, radii, strict=True)
            ]
            ring.append(ring[0])
            try:
                shapes.append(geometry.parse({"type": "Polygon", "coordinates": [ring]}))
                continue
            except geometry.GeometryError:
                pass  # two angles too close: a circle instead
        if pick < 0.85:
            radius = float(rng.uniform(50, 3000))
            shapes.append(
                geometry.parse({"type": "Point", "coordinates": [lon, lat]}, radius_m=radius)
            )
            continue
        points = [[lon, lat]]
        for _ in range(int(rng.integers(1, 5))):
            points.append(
                [points[-1][0] + rng.uniform(-0.03, 0.03), points[-1][1] + rng.uniform(-0.02, 0.02)]
            )
        width = float(rng.uniform(20, 200))
        shapes.append(geometry.parse({"type": "LineString", "coordinates": points}, width_m=width))
    return shapes


def make_positions(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lon = CENTRE[0] + rng.uniform(-SPAN_DEG[0], SPAN_DEG[0], count) / 2
    lat = CENTRE[1] + rng.uniform(-SPAN_DEG[1], SPAN_DEG[1], count) / 2
    return lon, lat


def bench_camtel(
    index: FenceIndex, lon: np.ndarray, lat: np.ndarray, batch: int
) -> tuple[float, int]:
    matches = 0
    started = time.perf_counter()
    for at in range(0, len(lon), batch):
        points, _ = index.contains(lon[at : at + batch], lat[at : at + batch])
        matches += len(points)
    return time.perf_counter() - started, matches


def bench_parallel(index: FenceIndex, lon: np.ndarray, lat: np.ndarray, batch: int) -> float:
    started = time.perf_counter()
    for at in range(0, len(lon), batch):
        index.contains_parallel(lon[at : at + batch], lat[at : at + batch])
    return time.perf_counter() - started


def bench_single(index: FenceIndex, lon: np.ndarray, lat: np.ndarray) -> float:
    started = time.perf_counter()
    for x, y in zip(lon, lat, strict=True):
        index.signed_distances(float(x), float(y), 20.0)
    return time.perf_counter() - started


def ensure_postgis(admin) -> bool:  # type: ignore[no-untyped-def]
    found = admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    if found:
        return True
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("PostGIS missing: apt-get install -y postgresql-15-postgis-3", file=sys.stderr)
        return False
    print("installing postgresql-15-postgis-3 ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql-15-postgis-3"], check=False)
    return bool(
        admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    )


def bench_postgis(
    shapes: list[geometry.Shape], lon: np.ndarray, lat: np.ndarray
) -> tuple[float, int, float] | None:
    """(query seconds, matches, load seconds), or None when PostGIS is not available."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:
        print(f"PostgreSQL not reachable ({type(exc).__name__}); PostGIS column skipped")
        return None
    if not ensure_postgis(admin):
        return None
    name = f"camtel_bench_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(url, autocommit=True) as db:
            started = time.perf_counter()
            db.execute("CREATE EXTENSION postgis")
            db.execute("CREATE TABLE areas (id int, geom geometry(Geometry, 4326))")
            # A circle's radius differs per row, so an index on the centre cannot be probed
            # with it; index the circle's box (as camtel does) and let ST_DWithin decide.
            db.execute(
                "CREATE TABLE circles (id int, centre geography(Point, 4326), radius float8, "
                "box geometry(Polygon, 4326))"
            )
            db.execute("CREATE TABLE points (id int, geom geometry(Point, 4326))")
            with db.cursor().copy("COPY areas (id, geom) FROM STDIN") as copy:
                for i, shape in enumerate(shapes):
                    if shape.polygon is not None:
                        copy.write_row((i, f"SRID=4326;{shape.polygon.wkt}"))
            with db.cursor().copy("COPY circles (id, centre, radius, box) FROM STDIN") as copy:
                for i, shape in enumerate(shapes):
                    if shape.center is not None:
                        x, y = (float(v) for v in shape.center)
                        for bounds in shape.bounds():
                            west, south, east, north = (float(v) for v in bounds)
                            copy.write_row(
                                (
                                    i,
                                    f"SRID=4326;POINT({x!r} {y!r})",
                                    shape.radius_m,
                                    f"SRID=4326;POLYGON(({west} {south},{east} {south},"
                                    f"{east} {north},{west} {north},{west} {south}))",
                                )
                            )
            buffer = io.StringIO()
            for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
                buffer.write(f"{i}\tSRID=4326;POINT({x!r} {y!r})\n")
            with db.cursor().copy("COPY points (id, geom) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            db.execute("CREATE INDEX ON areas USING gist (geom)")
            db.execute("CREATE INDEX ON circles USING gist (box)")
            db.execute("CREATE INDEX ON points USING gist (geom)")
            db.execute("ANALYZE")
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            (polygon_hits,) = db.execute(
                "SELECT count(*) FROM points p JOIN areas a ON ST_Contains(a.geom, p.geom)"
            ).fetchone()  # type: ignore[misc]
            (circle_hits,) = db.execute(
                "SELECT count(*) FROM points p JOIN circles c "
                "ON c.box && p.geom AND ST_DWithin(c.centre, p.geom::geography, c.radius)"
            ).fetchone()  # type: ignore[misc]
            took = time.perf_counter() - started
        return took, int(polygon_hits) + int(circle_hits), loaded
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fences", type=int, default=10_000)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-positions", type=int, default=None, help="positions for PostGIS (default: all)"
    )
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=20_000, help="fixes for the per-fix path")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--region", choices=sorted(REGIONS), default="city")
    args = parser.parse_args()
    global CENTRE, SPAN_DEG
    CENTRE, SPAN_DEG = REGIONS[args.region]

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    shapes = make_fences(args.fences, rng)
    kinds = {k: sum(s.kind == k for s in shapes) for k in geometry.KINDS}
    made = time.perf_counter() - started
    started = time.perf_counter()
    index = FenceIndex(shapes)
    indexed = time.perf_counter() - started
    lon, lat = make_positions(args.positions, rng)
    print(
        f"{args.fences:,} fences ({kinds['polygon']:,} polygons, {kinds['circle']:,} circles, "
        f"{kinds['corridor']:,} corridors) checked and built in {made:.1f} s, indexed in "
        f"{indexed:.2f} s; {args.positions:,} positions; region {args.region}"
    )

    seconds, matches = bench_camtel(index, lon, lat, args.batch)
    parallel = bench_parallel(index, lon, lat, args.batch)
    single = bench_single(index, lon[: args.single], lat[: args.single])
    pg_count = args.pg_positions or args.positions
    pg = bench_postgis(shapes, lon[:pg_count], lat[:pg_count])
    _, pg_camtel_matches = bench_camtel(index, lon[:pg_count], lat[:pg_count], args.batch)

    rows = [
        ("camtel FenceIndex.contains (batches)", args.positions, seconds, matches),
        (f"camtel contains_parallel ({os.cpu_count()} threads)", args.positions, parallel, None),
        ("camtel signed_distances (one fix at a time)", args.single, single, None),
    ]
    if pg is not None:
        rows.append(("PostGIS ST_Contains + ST_DWithin (GiST)", pg_count, pg[0], pg[1]))
    print()
    print(
        f"| {'method':<46} | {'positions':>10} | {'seconds':>8} | {'positions/s':>12} | matches |"
    )
    print(f"|{'-' * 48}|{'-' * 12}|{'-' * 10}|{'-' * 14}|---------|")
    for label, count, took, found in rows:
        rate = count / took
        print(
            f"| {label:<46} | {count:>10,} | {took:>8.2f} | {rate:>12,.0f} | "
            f"{found if found is not None else '-':>7} |"
        )
    print()
    print(
        f"each position lies in {matches / args.positions:.1f} fences on average; a check is one "
        f"position against all {args.fences:,} fences "
        f"({args.fences * args.positions / seconds:,.0f} position-fence pairs decided per "
        "second, single thread)"
    )
    if pg is not None:
        ours = args.positions / seconds
        theirs = pg_count / pg[0]
        print()
        print(
            f"camtel / PostGIS throughput: {ours / theirs:.1f}x "
            f"(PostGIS load + index, not timed above: {pg[2]:.1f} s)"
        )
        same = "agree" if pg_camtel_matches == pg[1] else "DIFFER"
        print(
            f"matches on the same {pg_count:,} positions: camtel {pg_camtel_matches:,}, "
            f"PostGIS {pg[1]:,} ({same}; points exactly on an edge may differ: camtel counts "
            "edges as inside, ST_Contains does not)"
        )


if __name__ == "__main__":
    main()
