"""Helpers for privacy tests: an API client with the privacy routers, operators, clocks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import update

from camtel.accounts.models import User
from camtel.app import build_api


def privacy_app(services):  # type: ignore[no-untyped-def]
    """The whole API, as the composition root builds it."""
    return build_api(services)


@asynccontextmanager
async def privacy_client(services) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=privacy_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


async def make_operator(services, user_id: str) -> None:  # type: ignore[no-untyped-def]
    import uuid

    async with services.database.session() as db:
        await db.execute(update(User).where(User.id == uuid.UUID(user_id)).values(is_admin=True))
