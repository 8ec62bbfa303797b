"""Who is looking at a page: the web session cookie resolved to a person, or nobody."""

from __future__ import annotations

from fastapi import Request

from camtel.accounts.caller import Caller, load_caller
from camtel.accounts.tokens import resolve
from camtel.services import Services

#: The cookies the web app's session uses (set by POST /api/v1/auth/session).
SESSION_COOKIE = "camtel_session"
CSRF_COOKIE = "camtel_csrf"


async def page_caller(request: Request, services: Services) -> Caller | None:
    """The person signed in to the web app with this browser, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with services.database.session() as db:
        found = await resolve(db, token=token, now=services.clock())
        if found is None or found[1].kind != "web":
            return None
        user, session = found
        return await load_caller(db, user=user, session=session)
