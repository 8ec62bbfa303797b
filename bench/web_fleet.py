"""The fleet page in Chromium: load time, page weight, and smoothness with N devices live.

camtel runs in this process as `camtel serve` does (uvicorn, the live socket, SQLite in a
temporary folder, tiles off); N devices with a latest position are written to the database,
a person signs in through the sign-in page, and Debian's Chromium (Playwright) opens `/app`.

- **load**: from the navigation to `/app` until every marker is on the map and the Natural
  Earth layer is drawn (`performance.now()` in the page), median of `--loads` visits: a first
  visit (the browser's cache emptied) and a return visit (scripts, styles and map data
  cached, as their hashed URLs allow for a year);
- **weight**: bytes the browser fetched for that first visit after signing in, as they
  crossed the wire (Chromium's encoded lengths: compressed bodies and headers of the page,
  scripts, styles, map data and API answers; what the sign-in page already fetched, such as
  the stylesheet, comes from the cache);
- **live**: each device then reports once a second for `--seconds` (the positions are handed
  to the live hub, as the pipeline does after each commit, so the figure is the page's work,
  not ingest's); the page's Long Tasks API records every main-thread task over 50 ms, and the
  bench reads how current the markers are at the end.

    .venv/bin/python bench/web_fleet.py --devices 2000 --seconds 20
    .venv/bin/python bench/web_fleet.py --devices 5,500,2000 --loads 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

PASSWORD = "a long bench passphrase"  # noqa: S105 - a throw-away account
CENTRE = (50.11, 8.68)

OBSERVE_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


def _spot(n: int, count: int, t: float) -> tuple[float, float]:
    """Device n's place at time t: on a ring around the centre, creeping along it."""
    ring = 0.02 + 0.3 * (n / count)
    angle = 2 * math.pi * n / count + t * 0.0005
    return CENTRE[0] + ring * math.cos(angle), CENTRE[1] + ring * 1.5 * math.sin(angle)


async def _populate(services, count: int) -> tuple[str, list[uuid.UUID]]:  # type: ignore[no-untyped-def]
    from camtel.accounts.service import create_account
    from camtel.devices.models import Device, Position

    email = "bench@example.com"
    now = datetime.now(UTC)
    async with services.database.session() as db:
        user = await create_account(
            db, email=email, phone="+4915123456789", password=PASSWORD, display_name="Bench",
            organization_name="Bench fleet", min_length=8, now=now, verified=True,
        )
        from camtel.accounts.models import Membership

        org = await db.scalar(
            __import__("sqlalchemy").select(Membership.organization_id).where(
                Membership.user_id == user.id
            )
        )
        ids = []
        for n in range(count):
            device = Device(organization_id=org, name=f"Vehicle {n + 1:04d}",
                            unique_id=f"bench-{n}", protocol="osmand", last_seen_at=now)
            db.add(device)
            ids.append(device)
        await db.flush()
        for n, device in enumerate(ids):
            lat, lon = _spot(n, count, 0)
            db.add(Position(device_id=device.id, time=now - timedelta(seconds=5),
                            server_time=now, latitude=lat, longitude=lon, speed_kmh=30.0,
                            course=90.0, attributes={}))
        return email, [d.id for d in ids]


async def _sign_in(context, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page = await context.new_page()
    await page.goto(f"{base}/login?next=/app")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.close()


async def _visit(context, base: str, count: int, *, cold: bool) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """One visit to /app: (ms until every marker and the world are drawn, bytes fetched);
    `cold` empties the browser's cache first (a first visit), otherwise it is a return."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    if cold:
        await cdp.send("Network.clearBrowserCache")
    wire: list[float] = []
    cdp.on("Network.loadingFinished", lambda event: wire.append(event["encodedDataLength"]))
    await page.goto(f"{base}/app", wait_until="commit")
    await page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=device-marker]').length >= n"
        " && document.querySelector('[data-testid=map]').dataset.world === 'drawn'",
        arg=count,
        timeout=120_000,
        polling=20,
    )
    elapsed = await page.evaluate("() => performance.now()")
    await asyncio.sleep(0.5)
    fetched = int(sum(wire))  # bytes on the wire: compressed bodies and their headers
    await page.close()
    return elapsed, fetched


async def _live(context, base: str, services, ids: list[uuid.UUID], seconds: float) -> dict:  # type: ignore[no-untyped-def]
    from camtel.bus.live import LiveUpdate

    page = await context.new_page()
    await page.add_init_script(OBSERVE_LONG_TASKS)
    await page.goto(f"{base}/app")
    await page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=device-marker]').length >= n",
        arg=len(ids), timeout=120_000,
    )
    await asyncio.sleep(2)  # the socket is open, the first paint is done
    await page.evaluate("() => { window.__longTasks = []; }")
    started = time.monotonic()
    sent = 0
    tick = 0
    while time.monotonic() - started < seconds:
        tick += 1
        moment = datetime.now(UTC)
        for n, device_id in enumerate(ids):
            lat, lon = _spot(n, len(ids), tick)
            services.live.publish(LiveUpdate("position", device_id, {
                "time": moment.isoformat(), "latitude": lat, "longitude": lon,
                "speed_kmh": 30.0 + tick % 20, "course": (tick * 7) % 360, "altitude": None,
                "valid": True, "attributes": {},
            }))
            sent += 1
            if n % 200 == 199:
                await asyncio.sleep(0)  # let the socket writers run, as the pipeline would
        await asyncio.sleep(max(0.0, started + tick - time.monotonic()))
    await asyncio.sleep(1.5)
    tasks = await page.evaluate("() => window.__longTasks")
    last = len(ids) - 1
    lat, lon = _spot(last, len(ids), tick)
    shown = await page.evaluate(
        "id => { const m = document.querySelector("
        "`[data-testid=device-marker][data-device-id='${id}']`);"
        " return [Number(m.dataset.lat), Number(m.dataset.lon)]; }",
        str(ids[last]),
    )
    await page.close()
    return {
        "sent": sent,
        "seconds": time.monotonic() - started,
        "long_tasks": len(tasks),
        "longest_ms": max(tasks, default=0.0),
        "current": abs(shown[0] - lat) < 1e-6 and abs(shown[1] - lon) < 1e-6,
    }


async def _bench(count: int, args: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    from camtel.app import serve
    from camtel.config import Settings
    from helpers.env import free_port

    data = Path(tempfile.mkdtemp(prefix="camtel-bench-web-"))
    port = free_port()
    settings = Settings(
        data_dir=data, http_host="127.0.0.1", http_port=port, jt808_port=0, teltonika_port=0,
        osmand_port=0, map_tile_url="", cookie_secure=False, log_level="WARNING",
    )
    ready: asyncio.Future = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(settings, on_ready=lambda s, _i: ready.set_result(s)))
    services = await asyncio.wait_for(ready, 60)
    base = f"http://127.0.0.1:{port}"
    try:
        email, ids = await _populate(services, count)
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            loads, weights, returns = [], [], []
            for _ in range(args.loads):
                context = await browser.new_context(
                    viewport={"width": 1366, "height": 860}, service_workers="block"
                )
                await _sign_in(context, base, email)
                elapsed, weight = await _visit(context, base, count, cold=True)
                loads.append(elapsed)
                weights.append(weight)
                returns.append((await _visit(context, base, count, cold=False))[0])
                await context.close()
            context = await browser.new_context(
                viewport={"width": 1366, "height": 860}, service_workers="block"
            )
            await _sign_in(context, base, email)
            live = await _live(context, base, services, ids, args.seconds) if args.seconds else {}
            await context.close()
            await browser.close()
    finally:
        server.cancel()
        with contextlib.suppress(BaseException):
            await server
        shutil.rmtree(data, ignore_errors=True)
    return {
        "devices": count,
        "load_ms": statistics.median(loads),
        "return_ms": statistics.median(returns),
        "weight": statistics.median(weights),
        **live,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="2000", help="comma-separated fleet sizes")
    parser.add_argument("--seconds", type=float, default=20.0, help="live reporting time")
    parser.add_argument("--loads", type=int, default=3, help="fresh visits per size (median)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    rows = [asyncio.run(_bench(int(n), args)) for n in args.devices.split(",")]
    table = Table(title="camtel fleet page in Chromium (loopback, tiles off)")
    columns = (
        "devices", "first visit to drawn map", "return visit", "page weight", "updates sent",
        "long tasks (>50 ms)", "longest task", "markers current",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row["devices"]),
            f"{row['load_ms']:.0f} ms",
            f"{row['return_ms']:.0f} ms",
            f"{row['weight'] / 1024:.0f} KiB",
            f"{row.get('sent', 0)} in {row.get('seconds', 0):.0f} s",
            str(row.get("long_tasks", "-")),
            f"{row.get('longest_ms', 0):.0f} ms",
            "yes" if row.get("current") else "no",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
