"""Errors are pages for a browser (404, 403, 500 with a request id) and problem JSON for API
clients; pages carry a CSP that names the map's tile server and nothing else from outside."""

from __future__ import annotations

import re

import httpx

from camtel.app import build_api
from camtel.errors import Forbidden

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_a_missing_page_is_a_page_and_a_missing_route_of_the_api_is_json(client):  # type: ignore[no-untyped-def]
    page = await client.get("/app/nothing-here", headers=BROWSER)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and '<html lang="en">' in page.text
    german = await client.get("/nowhere", headers={**BROWSER, "Accept-Language": "de"})
    assert german.status_code == 404 and "Seite nicht gefunden" in german.text
    api = await client.get("/api/v1/nothing-here", headers=BROWSER)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    script = await client.get("/app/nothing-here", headers={"Accept": "application/json"})
    assert script.headers["content-type"] == "application/problem+json"


async def test_a_page_that_fails_shows_a_request_id_that_is_in_the_log(services, caplog):  # type: ignore[no-untyped-def]
    app = build_api(services)

    async def boom() -> None:
        raise RuntimeError("a bug")

    async def refused() -> None:
        raise Forbidden("not for you")

    app.add_api_route("/app/boom", boom)
    app.add_api_route("/app/refused", refused)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        failed = await http.get("/app/boom", headers=BROWSER)
        forbidden = await http.get("/app/refused", headers=BROWSER)
    assert failed.status_code == 500
    assert "Something went wrong" in failed.text and "a bug" not in failed.text
    request_id = re.search(r"<code>([0-9a-f]{16})</code>", failed.text)
    assert request_id, failed.text
    assert any(getattr(r, "request_id", None) == request_id[1] for r in caplog.records)
    assert forbidden.status_code == 403 and "Not allowed" in forbidden.text
    assert failed.headers["content-security-policy"].startswith("default-src 'self'")


async def test_pages_allow_images_from_the_tile_server_only(client):  # type: ignore[no-untyped-def]
    answer = await client.get("/login")
    policy = answer.headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org;" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_page_of_the_app_without_a_session_goes_to_sign_in(client):  # type: ignore[no-untyped-def]
    answer = await client.get("/app/history?device=x", headers=BROWSER)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/app/history%3Fdevice%3Dx"
