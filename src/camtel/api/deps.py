"""Typed dependencies: the services, a database session, and the authenticated caller."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller, load_caller
from camtel.accounts.ratelimit import peer_address
from camtel.accounts.tokens import resolve
from camtel.errors import Forbidden, Unauthorized
from camtel.services import Services

SESSION_COOKIE = "camtel_session"
CSRF_COOKIE = "camtel_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]


async def get_db(services: Svc) -> AsyncIterator[AsyncSession]:
    """A session per request: committed when the handler returns, rolled back on error."""
    async with services.database.session() as session:
        yield session


#: `scope="function"`: the commit happens before the answer is sent, so a client that got
#: 201 or 200 and asks again at once sees what it just wrote (with the default scope the
#: commit would run after the response, racing the client's next request).
Db = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_caller(
    request: Request,
    services: Svc,
    db: Db,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The signed-in person: by bearer token, or by web session cookie with a CSRF check."""
    now = services.clock()
    if bearer is not None:
        found = await resolve(db, token=bearer.credentials, now=now)
        if found is None or found[1].kind != "api":
            raise Unauthorized("the token is invalid or expired")
        user, session = found
        return await load_caller(db, user=user, session=session)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await resolve(db, token=cookie, now=now)
        if found is None or found[1].kind != "web":
            raise Unauthorized("the session is invalid or expired")
        user, session = found
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not session.csrf_token or not hmac.compare_digest(sent, session.csrf_token):
                raise Forbidden("missing or wrong CSRF token", code="csrf")
        return await load_caller(db, user=user, session=session)
    raise Unauthorized("sign in first: send Authorization: Bearer <token>")


CallerDep = Annotated[Caller, Depends(get_caller)]


def client_address(request: Request) -> str:
    """The peer address used for per-address limits (a proxy must be configured to pass it)."""
    return peer_address(request)
