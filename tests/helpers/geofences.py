"""Helpers for geofence tests: an API client with the geofences router mounted, and the
matcher's brute-force reference."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import numpy as np
import shapely

from camtel.app import build_api
from camtel.geofences.geometry import Shape, geodesic_distance_m
from camtel.geofences.matcher import Pairs
from camtel.services import Services


@asynccontextmanager
async def geofence_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An API client on the whole app, as conftest's."""
    app = build_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


def brute_force(shapes: Sequence[Shape], lon: np.ndarray, lat: np.ndarray) -> Pairs:
    """Every point against every fence, the obvious way (no index, no frame, no shortcut;
    one vectorised call per fence): the tests' reference."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    points: list[np.ndarray] = []
    fences: list[np.ndarray] = []
    for f, shape in enumerate(shapes):
        if shape.polygon is not None:
            hit = shapely.intersects_xy(shape.polygon, lon, lat)
        else:
            assert shape.center is not None and shape.radius_m is not None
            distance = geodesic_distance_m(shape.center[0], shape.center[1], lon, lat)
            hit = np.asarray(distance) <= shape.radius_m
        found = np.flatnonzero(hit)
        points.append(found)
        fences.append(np.full(len(found), f, dtype=np.intp))
    if not any(len(found) for found in points):
        return np.empty(0, np.intp), np.empty(0, np.intp)
    p_all, f_all = np.concatenate(points).astype(np.intp), np.concatenate(fences)
    order = np.lexsort((f_all, p_all))  # by point, then fence
    arr = np.column_stack([p_all[order], f_all[order]])
    return arr[:, 0], arr[:, 1]
