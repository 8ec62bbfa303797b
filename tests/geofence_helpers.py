"""Helpers for geofence tests: an API client with the geofences router mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from camtel.api import geofences
from camtel.app import API_PREFIX, build_api
from camtel.services import Services


@asynccontextmanager
async def geofence_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The API client of conftest, plus the geofences router until app.py mounts it."""
    app = build_api(services)
    paths = {getattr(route, "path", "") for route in app.routes}
    if f"{API_PREFIX}/geofences" not in paths:
        app.include_router(geofences.router, prefix=API_PREFIX)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http
