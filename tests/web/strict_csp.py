"""Serve a page with the strict Content-Security-Policy camtel's pages are written for, so
that a test notices inline styles or scripts (Chromium reports each violation as an error)."""

from __future__ import annotations

from typing import Any

#: Everything from camtel's own origin, nothing inline, no data: URLs.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'"
)


async def strict_csp(page: Any, path_glob: str) -> None:
    """Answer documents matching `path_glob` with POLICY added to their headers."""

    async def add_policy(route: Any) -> None:
        answer = await route.fetch()
        headers = {**answer.headers, "content-security-policy": POLICY}
        await route.fulfill(response=answer, headers=headers)

    await page.route(path_glob, add_policy)
