"""The share page in a real browser (Debian's Chromium driven by Playwright): a redacted
recording shared by link plays without signing in, under the page's strict Content Security
Policy, and opening it sets no cookie at all (P8, P11)."""

from __future__ import annotations

import asyncio
import shutil
import socket

import httpx
import pytest
import uvicorn

from camtel.app import build_api
from helpers import media as media_helpers
from helpers.accounts import sign_up
from helpers.env import missing
from helpers.media import clip, settled, upload

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def site(services):  # type: ignore[no-untyped-def]
    """camtel over real HTTP, with the analyzer and the redactor working in this process."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_api(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    analyzer, redactor = media_helpers.analyzer(services), media_helpers.redactor(services)
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(analyzer.run()),
        asyncio.create_task(redactor.run()),
    ]
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    analyzer.stop()
    redactor.stop()
    server.should_exit = True
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


async def _redacted_link(http: httpx.AsyncClient, services) -> str:  # type: ignore[no-untyped-def]
    headers, _ = await sign_up(http, services, "browser-share@example.com")
    made = await upload(http, headers, clip(seconds=2.0, size=(320, 240)), "cabin.mp4")
    assert made.status_code == 201, made.text
    media_id = made.json()["id"]
    assert (await settled(http, headers, media_id))["status"] == "ready"
    shared = await http.post(
        f"/api/v1/media/{media_id}/shares", headers=headers, json={"redact": True}
    )
    assert shared.status_code == 201, shared.text
    for _ in range(600):
        links = (await http.get(f"/api/v1/media/{media_id}/shares", headers=headers)).json()
        if links[0]["redaction"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert links[0]["redaction"] == "ready", links
    return shared.json()["url"]


async def test_a_redacted_recording_plays_in_a_browser_without_signing_in(site, services):
    if CHROMIUM is None:
        missing("chromium not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with httpx.AsyncClient(base_url=site) as http:
        url = await _redacted_link(http, services)
    assert url.startswith(f"{site}/s/")

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context()
            page = await context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            answer = await page.goto(url)
            assert answer is not None and answer.status == 200
            video = page.locator("video")
            await video.wait_for()
            # The browser fetched the redacted copy (an H.264 MP4) and decoded its frames.
            await page.wait_for_function(
                "() => { const v = document.querySelector('video');"
                " return v && v.readyState >= 2 && v.videoWidth > 0; }",
                timeout=20_000,
            )
            size = await video.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]")
            assert size[:2] == [320, 240] and 1.5 < size[2] < 2.5, size
            assert await video.evaluate("v => v.error === null")
            assert not [p for p in problems if "Content Security Policy" in p], problems
            assert await context.cookies() == [], "a share link sets no cookie"
            text = await page.locator("body").inner_text()
            assert "blurred" in text.lower() or "redact" in text.lower(), text
        finally:
            await browser.close()
