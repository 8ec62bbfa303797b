"""Errors as RFC 9457 problem details, and the request-size guard."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camtel.errors import CamtelError, RateLimited, StorageFull, storage_full

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://camtel.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str = "",
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _camtel_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CamtelError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(exc.status, exc.type, exc.title, exc.detail, headers=headers, **exc.extra)


NOT_JSON = "the body is not valid JSON"


def _invalid(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 `invalid` for schema errors; the first message is the detail."""
    return problem(
        422,
        "invalid",
        "The request is not valid",
        errors[0]["message"] if errors else "",
        errors=errors,
    )


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": list(map(str, e.get("loc", ()))),
            "message": NOT_JSON if e.get("type") == "json_invalid" else e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    return _invalid(errors)


def _unreadable_body(request: Request) -> JSONResponse:
    """A body the framework could not parse at all (JSON that is not UTF-8 or nests beyond
    the parser's depth, a broken multipart form): 422 like any other malformed body, not the
    framework's 400."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type or media_type == "application/json" or media_type.endswith("+json"):
        return _invalid([{"location": ["body"], "message": NOT_JSON, "type": "json_invalid"}])
    message = f"the body is not a valid {media_type} body"
    return _invalid([{"location": ["body"], "message": message, "type": "body_invalid"}])


_HTTP_TYPES = {
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    401: "unauthorized",
    403: "forbidden",
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # only FastAPI and Starlette raise it, for bodies they cannot parse
        return _unreadable_body(request)
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return problem(
        exc.status_code,
        _HTTP_TYPES.get(exc.status_code, "http-error"),
        detail or "Request failed",
        detail,
        headers=getattr(exc, "headers", None),
    )


#: What a client is told when the disk or the database is full.
FULL = StorageFull(
    "camtel's storage is full (no space left on the disk or in the database): nothing of "
    "this request was stored; send it again once space has been freed"
)


def _full(request: Request, exc: Exception) -> JSONResponse:
    """507: the disk or the database is full (any other OS or database error goes on to
    `_unexpected`: a 500, and the server logs the crash)."""
    # The route's pattern and the error's type only: the error's text names files and rows.
    log.error(
        "storage full: %s %s not stored (%s)",
        request.method,
        getattr(request.scope.get("route"), "path", "-"),
        type(exc).__name__,
    )
    return _camtel_error(request, FULL)


def _gone(request: Request, _exc: Exception) -> JSONResponse:
    """The client went away before its body arrived whole (an upload cut off): not a fault of
    camtel's, and nothing of the request was kept (the answer reaches nobody)."""
    log.info(
        "client went away before its request arrived whole: %s %s not stored",
        request.method,
        getattr(request.scope.get("route"), "path", "-"),
    )
    return problem(400, "incomplete-request", "The request did not arrive whole")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if storage_full(exc):  # wrapped in another error on its way out
        return _full(request, exc)
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal", "Internal error", "camtel hit an unexpected error")


#: Renders the page a browser gets for an error (status, exception), or None for problem JSON.
PageRenderer = Callable[[Request, int, Exception], Response | None]

_STATUS_OF: dict[type[Exception], Callable[[Exception], int]] = {
    CamtelError: lambda exc: cast(CamtelError, exc).status,
    RequestValidationError: lambda _exc: 422,
    HTTPException: lambda exc: cast(HTTPException, exc).status_code,
    ClientDisconnect: lambda _exc: 400,
    Exception: lambda exc: FULL.status if storage_full(exc) else 500,
}
_STATUS_OF[OSError] = _STATUS_OF[DBAPIError] = lambda _exc: FULL.status


def install(app: FastAPI, *, pages: PageRenderer | None = None) -> None:
    """Route every error through problem details; with `pages`, a browser asking for a page
    gets an error page instead (the renderer decides, by the request, which one wants it)."""
    handlers: dict[type[Exception], Callable[[Request, Exception], Response]] = {
        CamtelError: _camtel_error,
        RequestValidationError: _validation_error,
        HTTPException: _http_error,
        ClientDisconnect: _gone,
        # Matched before `Exception`: a full disk is a refused request, not a crash.
        OSError: _full,
        DBAPIError: _full,
        Exception: _unexpected,
    }
    for kind, handler in handlers.items():
        answer = _with_pages(handler, _STATUS_OF[kind], pages)
        if handler is _full:
            answer = _when_full(answer)
        app.add_exception_handler(kind, answer)


def _when_full(
    handler: Callable[[Request, Exception], Response],
) -> Callable[[Request, Exception], Response]:
    """Let any OS or database error but a full disk go on to the handler of `Exception`."""

    def answer(request: Request, exc: Exception) -> Response:
        if not storage_full(exc):
            raise exc
        return handler(request, exc)

    return answer


def _with_pages(
    handler: Callable[[Request, Exception], Response],
    status_of: Callable[[Exception], int],
    pages: PageRenderer | None,
) -> Callable[[Request, Exception], Response]:
    if pages is None:
        return handler

    def answer(request: Request, exc: Exception) -> Response:
        page = pages(request, status_of(exc), exc)
        return page if page is not None else handler(request, exc)

    return answer


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, declared or streamed (chunked).

    `streamed` lists the only routes that may take larger bodies, as (method, path pattern)
    pairs such as ("PATCH", "/api/v1/media/uploads/{upload_id}"): uploads that stream what they
    read to storage and bound it themselves. Everything else, under any prefix, is limited."""

    def __init__(self, app: ASGIApp, limit: int, streamed: Iterable[tuple[str, str]] = ()) -> None:
        self.app, self.limit = app, limit
        self.streamed = [(method.upper(), compile_path(path)[0]) for method, path in streamed]

    def _streamed(self, scope: Scope) -> bool:
        method, path = scope["method"], scope["path"]
        return any(method == m and pattern.match(path) for m, pattern in self.streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._streamed(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        refused = False
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we already answered 413; the app's late reply goes nowhere
            started = True
            await send(message)

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if not started:
                        refused = True
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}  # the app reads no further
            return message

        await self.app(scope, counted, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, "too-large", "Request body too large", f"the limit is {self.limit} bytes"
        )
        await response(scope, receive, send)
