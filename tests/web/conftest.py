"""Browser tests: camtel served for real (uvicorn, gateways, workers) and Debian's Chromium
driven by Playwright, on a desktop and a phone screen, with axe on every page."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from camtel.app import serve
from camtel.config import Settings
from camtel.services import Services
from helpers.accounts import PASSWORD, sign_up
from helpers.env import free_port, missing

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CAMTEL_SCREENSHOTS", REPO / ".artifacts" / "screenshots"))

#: The two screens every flow is tried on.
SCREENS = {
    "desktop": {"viewport": {"width": 1366, "height": 860}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


WEB = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests share one event loop per worker process, so that one Chromium serves
    them all (launching one per test cost 0.6 s of CPU each); each still gets its own camtel,
    browser context and database."""
    shared = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if WEB in item.path.parents and pytest_asyncio.is_async_test(item):
            item.add_marker(shared, append=False)


@pytest.fixture
def engine() -> str:
    """Pages are tried on the embedded database; the API tests cover both engines."""
    return "sqlite"


@dataclass
class Site:
    """camtel running over real HTTP, with its OsmAnd gateway for devices to report to."""

    url: str
    osmand_port: int
    services: Services

    async def report(self, unique_id: str, lat: float, lon: float, *, speed_knots: float = 0,
                     timestamp: int | None = None, **extra: Any) -> None:
        """A device reports one position over the OsmAnd protocol, as a phone app would."""
        params = {"id": unique_id, "lat": lat, "lon": lon, "speed": speed_knots, **extra}
        if timestamp is not None:
            params["timestamp"] = timestamp
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{self.osmand_port}/", params=params)
        assert answer.status_code == 200, answer.text


@pytest_asyncio.fixture(loop_scope="session")
async def site(settings: Settings) -> AsyncIterator[Site]:
    """The whole of camtel in this process, as `camtel serve` runs it."""
    port, osmand = free_port(), free_port()
    changed = settings.model_copy(
        update={
            "http_host": "127.0.0.1",
            "http_port": port,
            "osmand_port": osmand,
            "jt808_port": 0,
            "teltonika_port": 0,
            "mqtt_url": "",
            "map_tile_url": "",  # no network here: the Natural Earth layer draws the world
            "cookie_secure": False,  # plain HTTP on loopback
        }
    )
    ready: asyncio.Future[Services] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(changed, on_ready=lambda s, _i: ready.set_result(s)))
    done, _ = await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # serve() failed: show why
    services = ready.result()
    yield Site(f"http://127.0.0.1:{port}", osmand, services)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 30)


@dataclass
class Person:
    email: str
    password: str
    headers: dict[str, str]
    http: httpx.AsyncClient

    async def device(self, name: str, unique_id: str, protocol: str = "osmand") -> str:
        """Add a device through the API; its id."""
        made = await self.http.post(
            "/api/v1/devices",
            headers=self.headers,
            json={"name": name, "unique_id": unique_id, "protocol": protocol},
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])


@pytest_asyncio.fixture(loop_scope="session")
async def person(site: Site) -> AsyncIterator[Person]:
    """A verified account with its own organisation, and an API client signed in as it."""
    async with httpx.AsyncClient(base_url=site.url) as http:
        headers, _ = await sign_up(http, site.services, "driver@example.com")
        yield Person("driver@example.com", PASSWORD, headers, http)


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        missing("chromium not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            yield launched
        finally:
            await launched.close()


class PageProblems(list):
    """Console errors, uncaught exceptions and CSP violations seen on a page."""


@pytest_asyncio.fixture(loop_scope="session")
async def page(
    browser: Any, site: Site, screen: str, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A fresh browser context on the chosen screen; fails the test on any script error.
    A test marked `block_service_workers` gets none: camtel's service worker answers the
    page's requests once it has claimed it, and `page.route` never sees those."""
    blocked = request.node.get_closest_marker("block_service_workers") is not None
    context = await browser.new_context(
        base_url=site.url,
        locale="en-GB",
        service_workers="block" if blocked else "allow",
        **SCREENS[screen],
    )
    tab = await context.new_page()
    problems = PageProblems()
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    tab.problems = problems
    tab.screen = screen
    yield tab
    await context.close()
    # A 4xx the page handles (a wrong password, an expired link) is logged by Chromium as
    # "Failed to load resource"; what must never happen is a 5xx or a script error.
    handled = "Failed to load resource: the server responded with a status of 4"
    real = [p for p in problems if not p.startswith(handled)]
    assert not real, f"the page reported errors: {real}"


async def sign_in(page: Any, person: Person, *, path: str = "/app") -> None:
    """Sign in through the sign-in page, as a person does."""
    await page.goto(f"/login?next={path}")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    # The sign-in page's own address contains `next=<path>`: wait for the page itself.
    wanted = path.split("?", 1)[0]
    await page.wait_for_url(lambda url: urlsplit(url).path == wanted)


async def check_accessibility(page: Any, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation; a screenshot."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    await screenshot(page, name)
    assert not bad, "\n".join(bad)


async def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{page.screen}.png"), full_page=False)
