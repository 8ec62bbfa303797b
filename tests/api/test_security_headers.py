"""Every answer carries a Content-Security-Policy, `nosniff`, frame protection and a
Referrer-Policy: each route of the app, signed in or not, error answers included; pages that
need their own policy (share links, the API reference) keep one that fits them."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from camtel.api.docs import CDN
from camtel.api.headers import content_security_policy
from camtel.app import build_api
from camtel.notify import news
from camtel.privacy.consent import Purpose
from helpers.accounts import sign_up

SOME_ID = "01900000-0000-7000-8000-000000000000"
PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def directives(csp: str) -> dict[str, str]:
    """A policy as {directive: sources}."""
    parts = (d.strip().partition(" ") for d in csp.split(";") if d.strip())
    return {name: sources for name, _, sources in parts}


def check(answer: httpx.Response, where: str) -> str:
    """The headers every answer must have; returns its CSP."""
    headers = answer.headers
    context = (where, answer.status_code)
    assert headers.get("x-content-type-options") == "nosniff", context
    assert headers.get("x-frame-options") == "DENY", context
    assert headers.get("referrer-policy") in (
        "strict-origin-when-cross-origin",
        "no-referrer",
    ), context
    csp = headers.get("content-security-policy", "")
    policy = directives(csp)
    assert policy.get("frame-ancestors") == "'none'", context
    assert policy.get("object-src", policy.get("default-src")) == "'none'", context
    assert "'unsafe-inline'" not in policy.get("script-src", "'none'"), context
    assert "'unsafe-eval'" not in csp, context
    return csp


def _patterns(routes: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    """The path pattern of every route, into included routers (which recent FastAPI keeps as
    nested routes) and one missing file under each mount."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _patterns(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            yield f"{prefix}{route.path}/nothing-here.js"
        else:
            yield prefix + getattr(route, "path", "")


def _urls(app: FastAPI) -> list[str]:
    """One URL per route of the app, path parameters filled with a well-formed id."""
    patterns = set(_patterns(app.routes))
    assert set(app.openapi()["paths"]) <= patterns, "the walk misses routes"
    return sorted({PARAM.sub(SOME_ID, pattern) or "/" for pattern in patterns})


async def test_every_route_and_error_answer_has_the_headers(services):
    app = build_api(services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        signed_in, _ = await sign_up(http, services, "headers@example.com")
        urls = _urls(app)
        assert "/api/v1/devices" in urls and "/docs" in urls and "/openapi.json" in urls
        statuses = set()
        for url in urls:
            for headers in ({}, signed_in):
                answer = await http.get(url, headers=headers)
                check(answer, f"GET {url}")
                assert answer.status_code < 500, (url, answer.text)
                statuses.add(answer.status_code)
        assert {200, 401, 404, 405, 422} <= statuses, statuses

        async def boom() -> None:
            raise RuntimeError("a bug")

        app.add_api_route("/boom-for-the-test", boom)

        errors = [
            await http.get("/api/v1/no-such-thing"),  # 404
            await http.get("/no-such-page"),
            await http.get("/api/v1/devices"),  # 401
            await http.put("/api/v1/devices", headers=signed_in, json={}),  # 405
            await http.get("/api/v1/devices/not-an-id", headers=signed_in),  # 422
            await http.post(  # 422: not JSON
                "/api/v1/devices",
                headers=signed_in | {"content-type": "application/json"},
                content=b"{",
            ),
            await http.post(  # 413
                "/api/v1/devices",
                headers=signed_in | {"content-type": "application/json"},
                content=b"x" * (services.settings.max_request_bytes + 1),
            ),
            await http.get("/boom-for-the-test"),  # 500, sent by Starlette's outermost layer
        ]
        assert [e.status_code for e in errors] == [404, 404, 401, 405, 422, 422, 413, 500]
        for answer in errors:
            assert check(answer, str(answer.request.url)) == app_policy(services)


def app_policy(services) -> str:  # type: ignore[no-untyped-def]
    """The app's policy: the default, with the map's tile server added for images."""
    assert services.settings.map_tile_url.startswith("https://tile.openstreetmap.org/")
    return content_security_policy(image_sources=["https://tile.openstreetmap.org"])


async def test_pages_with_their_own_policy(client, services):
    policy = app_policy(services)
    for url in ("/openapi.json", "/api/v1/auth/token", "/healthz"):
        assert check(await client.get(url), url) == policy

    # Share links keep their stricter page policy and send no referrer.
    dead = await client.get("/s/not-a-real-token")
    assert dead.status_code == 404
    assert check(dead, "/s/") != policy
    assert "default-src 'none'" in dead.headers["content-security-policy"]
    assert dead.headers["referrer-policy"] == "no-referrer"

    # The unsubscribe page: the default policy (its form posts to itself), no referrer.
    _, user_id = await sign_up(client, services, "news-headers@example.com")
    key = news.load_key(services.settings.data_dir)
    token = news.unsubscribe_token(key, uuid.UUID(user_id), Purpose.MARKETING_EMAIL)
    page = await client.get(f"/u/{token}")
    assert page.status_code == 200, page.text
    assert check(page, "/u/") == policy
    assert page.headers["referrer-policy"] == "no-referrer"

    # The API reference pages load from the CDN only, and only their own inline script runs.
    for url in ("/docs", "/redoc"):
        page = await client.get(url)
        assert page.status_code == 200, url
        csp = check(page, url)
        policy = directives(csp)
        assert policy["default-src"] == "'none'"
        assert policy["connect-src"] == "'self'"
        sources = policy["script-src"].split()
        for script in re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in sources, url
        external = set(re.findall(r"(?:src|href)=\"(https?://[^\"]+)\"", page.text))
        assert external and all(u.startswith(CDN + "/") for u in external), external
        assert "googleapis" not in page.text and "tiangolo" not in page.text
