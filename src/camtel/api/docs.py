"""The API reference pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), each with a
Content-Security-Policy that lets in exactly what it loads.

Both load their script and stylesheet from the jsDelivr CDN (camtel vendors neither), so
their policy names that one host instead of the default `'self'`; Swagger UI's one inline
start-up script is allowed by its hash. Both write styles at run time, so they may use inline
styles (which cannot run code). No favicon or font is fetched from elsewhere and Swagger UI's online
validator is off, so opening the pages tells no third party but the CDN about them."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CDN = "https://cdn.jsdelivr.net"
FAVICON = "data:,"  # none: the browser asks nobody for one
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_csp(html: str) -> str:
    """The policy for one of these pages: its CDN assets, the hashes of its inline scripts,
    the OpenAPI document from camtel itself, and nothing else."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    return "; ".join(
        (
            "default-src 'none'",
            " ".join(("script-src", CDN, *hashes)),
            f"style-src {CDN} 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "worker-src blob:",  # ReDoc's search runs in a worker made from a blob
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = page_csp(bytes(page.body).decode())
    return page


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + (request.app.openapi_url or "")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} API",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _with_csp(page)


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} API",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    return _with_csp(page)
