"""Errors as pages for a browser: 404, 403, 500 (with a request id) in the page's language."""

from __future__ import annotations

import logging
import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from camtel.web import i18n
from camtel.web.pages import SignInRequired, sign_in_url
from camtel.web.render import render, request_language

log = logging.getLogger(__name__)


def wants_page(request: Request) -> bool:
    """A browser navigating to a page (not the API, not a script's fetch) gets HTML errors."""
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/healthz", "/openapi.json")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def _texts(status: int, lang: i18n.Language) -> tuple[str, str]:
    _ = lang.gettext
    if status == 404:
        return _("Page not found"), _("There is nothing here, or it is not yours to see.")
    if status == 403:
        return _("Not allowed"), _(
            "Your role does not allow this. Ask an owner of the organisation."
        )
    if status == 429:
        return _("Too many requests"), _("Wait a moment and try again.")
    if status >= 500:
        return _("Something went wrong"), _(
            "camtel hit an unexpected error. It has been logged; try again in a moment."
        )
    return _("The request was not understood"), _("Check the address and try again.")


def error_page(request: Request, status: int, *, request_id: str = "") -> HTMLResponse:
    """The error page for `status`."""
    heading, message = _texts(status, request_language(request))
    return render(
        request,
        "error.html",
        settings=request.app.state.services.settings,
        status_code=status,
        title=heading,
        heading=heading,
        message=message,
        request_id=request_id,
    )


def page_for_error(request: Request, status: int, exc: Exception | None = None) -> Response | None:
    """The page answering an error for a browser, or None for an API client (problem JSON)."""
    if isinstance(exc, SignInRequired):
        return RedirectResponse(sign_in_url(exc.next_url), status_code=303)
    if not wants_page(request):
        return None
    if status == 422:
        status = 404  # a page address with a malformed id names nothing, like a missing one
    request_id = ""
    if status >= 500:
        request_id = uuid.uuid4().hex[:16]
        log.error("page failed", extra={"request_id": request_id}, exc_info=exc)
    return error_page(request, status, request_id=request_id)
