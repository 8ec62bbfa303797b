"""Helpers for geofence tests: an API client with the geofences router mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from camtel.app import build_api
from camtel.services import Services


@asynccontextmanager
async def geofence_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An API client on the whole app, as conftest's."""
    app = build_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http
