"""Pages and static assets: the public site and the app people sign in to."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from camtel.web import (
    account,
    admin,
    alerts,
    contact,
    cookies,
    demo,
    devices,
    fleet,
    geofences,
    guardians,
    history,
    invitations,
    policies,
    pricing,
    privacy,
    public,
    pwa,
    recordings,
    sales_admin,
    unsubscribe,
)
from camtel.web.assets import STATIC_DIR, STATIC_PREFIX
from camtel.web.errors import page_for_error
from camtel.web.pages import SignInRequired
from camtel.web.render import tile_sources

__all__ = ["install", "page_for_error", "tile_sources"]

#: Every page module with its router, in the order their routes are matched.
PAGES = (
    account,
    admin,
    alerts,
    contact,
    cookies,
    demo,
    devices,
    fleet,
    geofences,
    guardians,
    history,
    invitations,
    policies,
    pricing,
    privacy,
    public,
    pwa,
    recordings,
    sales_admin,
    unsubscribe,
)


class CachedStatic(StaticFiles):
    """Static files: a URL with `?v=<content hash>` never changes, so it may be cached a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the sign-in redirect to the app."""
    for module in PAGES:
        app.include_router(module.router)

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        # Never None: page_for_error answers SignInRequired with a redirect to the sign-in.
        return cast(Response, page_for_error(request, 401, exc))

    app.add_exception_handler(SignInRequired, sign_in_first)
    # Scripts, styles and map data are text that compresses 3-5 times; only /static is
    # compressed (media answers keep their byte ranges untouched).
    static = GZipMiddleware(CachedStatic(directory=STATIC_DIR), minimum_size=1024)
    app.mount(STATIC_PREFIX, static, name="static")
