"""Security headers on every answer: Content-Security-Policy, nosniff, frame protection and
Referrer-Policy, unless the answer set its own (the share page, the API reference pages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(*, image_sources: Iterable[str] = ()) -> str:
    """The policy for the web app (server-rendered pages, vendored scripts and styles, no
    inline code), harmless on JSON; `image_sources` adds hosts such as a map tile server."""
    images = " ".join(("'self'", "data:", "blob:", *image_sources))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "media-src 'self' blob:",  # players that build video from blobs (HLS)
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        )
    )


DEFAULT_CSP = content_security_policy()

SECURITY_HEADERS = (
    ("content-security-policy", DEFAULT_CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    # Other sites (map tiles, links people follow) learn the origin, never a path with ids.
    ("referrer-policy", "strict-origin-when-cross-origin"),
)


class SecurityHeaders:
    """Add each of SECURITY_HEADERS that the answer does not already carry; `policy` replaces
    the default Content-Security-Policy (the composition root adds the map's tile server)."""

    def __init__(self, app: ASGIApp, *, policy: str = DEFAULT_CSP) -> None:
        self.app = app
        self.headers = [
            (name.encode(), (policy if name == "content-security-policy" else value).encode())
            for name, value in SECURITY_HEADERS
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                for name, value in self.headers:
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
