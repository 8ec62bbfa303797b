"""The history page in Chromium: a day's trip listed with its figures, replayed by timestamps
(the marker is where the interpolation of the fixes puts it at the replay's time), several
vehicles at once, follow mode, downloads, and names that stay text."""

from __future__ import annotations

import asyncio
import math
import re
import time
from bisect import bisect_right
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from conftest import check_accessibility, sign_in

HOSTILE = "<script>alert(1)</script>"
KNOTS = 1.852  # km/h per knot: the OsmAnd protocol reports knots
STEP_S = 10
TIMES = "\N{MULTIPLICATION SIGN}"  # the replay speeds' names end in it


def _start_of_drive(minutes_ago: int, lasting_s: int) -> int:
    """An epoch second some minutes ago such that the whole drive falls on one local day."""
    start = int(time.time()) - minutes_ago * 60
    while datetime.fromtimestamp(start).date() != datetime.fromtimestamp(start + lasting_s).date():
        start -= 600
    return start


async def _drive(
    site,
    unique_id: str,
    start: int,
    speeds_kmh: list[float],
    *,  # type: ignore[no-untyped-def]
    lat: float,
    lon: float,
    parked_before: int = 0,
    bearing: float = 90.0,
) -> int:
    """Report a drive: `parked_before` fixes a minute apart standing still, then one fix every
    10 s moving at the given speeds along `bearing`. Returns how many fixes were sent."""
    sent = 0
    for minute in range(parked_before):
        await site.report(unique_id, lat, lon, speed_knots=0, timestamp=start + minute * 60)
        sent += 1
    t = start + (parked_before - 1) * 60 + STEP_S if parked_before else start
    for speed in speeds_kmh:
        await site.report(
            unique_id, round(lat, 7), round(lon, 7), speed_knots=speed / KNOTS, timestamp=t
        )
        sent += 1
        metres = speed / 3.6 * STEP_S
        lat += metres * math.cos(math.radians(bearing)) / 111_320
        lon += metres * math.sin(math.radians(bearing)) / (111_320 * math.cos(math.radians(lat)))
        t += STEP_S
    return sent


async def _stored(person, device: str, count: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The device's positions of the last day, once all `count` have been stored."""
    for _ in range(150):
        answer = await person.http.get(
            f"/api/v1/devices/{device}/positions", headers=person.headers, params={"limit": 10000}
        )
        assert answer.status_code == 200, answer.text
        if len(answer.json()) >= count:
            return answer.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {len(answer.json())} of {count} positions were stored")


def _interpolated(positions: list[dict[str, Any]], ms: float) -> tuple[float, float]:
    """Where the fixes put the vehicle at `ms`: linear between the two around it."""
    times = [datetime.fromisoformat(p["time"]).timestamp() * 1000 for p in positions]
    i = bisect_right(times, ms) - 1
    if i < 0:
        return positions[0]["latitude"], positions[0]["longitude"]
    if i == len(times) - 1:
        return positions[i]["latitude"], positions[i]["longitude"]
    f = (ms - times[i]) / (times[i + 1] - times[i])
    a, b = positions[i], positions[i + 1]
    return (
        a["latitude"] + (b["latitude"] - a["latitude"]) * f,
        a["longitude"] + (b["longitude"] - a["longitude"]) * f,
    )


READ_REPLAY = """() => {
  const markers = [...document.querySelectorAll('[data-testid=replay-marker]')].map((m) => ({
    id: m.dataset.deviceId, lat: Number(m.dataset.lat), lon: Number(m.dataset.lon),
    ms: Number(m.dataset.ms), stale: m.classList.contains('stale')}));
  return {markers, clock: Number(document.getElementById('replay-clock').dataset.ms),
          slider: Number(document.querySelector('input[type=range]').value),
          now: performance.now()};
}"""


def _marker(state: dict[str, Any], device: str) -> dict[str, Any]:
    (marker,) = [m for m in state["markers"] if m["id"] == device]
    return marker


def _assert_on_track(state: dict[str, Any], device: str, positions: list[dict[str, Any]]) -> None:
    marker = _marker(state, device)
    assert marker["ms"] == state["clock"]
    lat, lon = _interpolated(positions, state["clock"])
    assert abs(marker["lat"] - lat) < 2e-7 and abs(marker["lon"] - lon) < 2e-7, (marker, lat, lon)


async def _open(page, person, address: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in, then open the history page at `address` (with its query)."""
    await sign_in(page, person, path="/app/history")
    # sign_in's own wait also matches the sign-in page (/login?next=/app/history): wait until
    # the browser really is on the page, or the navigation below races the sign-in's.
    await page.wait_for_url(lambda url: urlsplit(url).path == "/app/history")
    await page.goto(address)


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch).date().isoformat()


def _km(metres: float) -> str:
    """A distance as the page writes it in English (one decimal, none when it is whole)."""
    text = f"{metres / 1000:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + " km"


async def test_a_trip_is_listed_and_replayed_by_its_timestamps(site, person, page):
    van = await person.device("Van 1", "van-1")
    speeds = [20 + (i * 7) % 90 for i in range(61)]  # ten minutes, 20 to 110 km/h
    start = _start_of_drive(45, 6 * 60 + 62 * STEP_S)
    sent = await _drive(site, "van-1", start, speeds, lat=52.5, lon=13.4, parked_before=7)
    positions = await _stored(person, van, sent)
    day = _day(start)

    trips = await person.http.get(f"/api/v1/devices/{van}/trips", headers=person.headers)
    assert trips.status_code == 200, trips.text
    (trip,) = trips.json()
    assert trip["distance_m"] > 5000 and trip["duration_s"] >= 590

    await _open(page, person, f"/app/history?device={van}&day={day}")
    trip_button = page.get_by_role("button", name=re.compile(r"^Trip "))
    await trip_button.wait_for()
    listed = await trip_button.inner_text()
    assert _km(trip["distance_m"]) in listed
    assert f"top speed {round(trip['max_speed_kmh'])} km/h" in listed
    assert await page.get_by_role("checkbox", name="Van 1").is_checked()
    await page.locator(f'[data-testid="replay-marker"][data-device-id="{van}"]').wait_for()
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=map]').dataset.world === 'drawn'"
    )
    await check_accessibility(page, "history")

    # Clicking the trip puts the replay at its start.
    await trip_button.click()
    trip_start = datetime.fromisoformat(trip["start"]["time"]).timestamp() * 1000
    state = await page.evaluate(READ_REPLAY)
    assert state["clock"] == trip_start
    _assert_on_track(state, van, positions)

    # 8x: the clock runs eight replay seconds per real second, and the marker moves along the
    # interpolated track wherever the clock happens to be.
    await page.get_by_role("radio", name=f"8{TIMES}").check()
    await page.get_by_role("button", name="Play").click()
    await page.get_by_role("button", name="Pause").wait_for()
    await page.wait_for_timeout(1500)
    first = await page.evaluate(READ_REPLAY)
    await page.wait_for_timeout(2000)
    second = await page.evaluate(READ_REPLAY)
    _assert_on_track(first, van, positions)
    _assert_on_track(second, van, positions)
    assert _marker(second, van)["lon"] > _marker(first, van)["lon"]  # it drives east
    # (Each reading may lag its frame by a frame's length: a slow machine blurs it a little.)
    rate = (second["clock"] - first["clock"]) / (second["now"] - first["now"])
    assert 6 < rate < 10, rate
    await page.get_by_role("button", name="Pause").click()
    paused = await page.evaluate(READ_REPLAY)
    await page.wait_for_timeout(300)
    assert (await page.evaluate(READ_REPLAY))["clock"] == paused["clock"]

    # The slider seeks to any time (between fixes too) and the keyboard moves it.
    slider = page.get_by_role("slider", name="Replay time")
    between = trip_start + 125_000  # 5 s after a fix: mid-way to the next
    await slider.fill(str(int(between)))
    state = await page.evaluate(READ_REPLAY)
    assert state["clock"] == between
    _assert_on_track(state, van, positions)
    await slider.press("ArrowRight")
    state = await page.evaluate(READ_REPLAY)
    assert state["clock"] == between + 1000
    _assert_on_track(state, van, positions)
    await slider.press("PageUp")
    assert (await page.evaluate(READ_REPLAY))["clock"] == between + 1000 + 300_000

    # Follow keeps the vehicle in view after zooming in close and jumping ahead.
    await page.get_by_label("Follow").check()
    for _ in range(4):
        await page.get_by_role("button", name="Zoom in").click()
    await slider.fill(str(int(datetime.fromisoformat(trip["end"]["time"]).timestamp() * 1000)))
    await page.wait_for_function(
        """id => {
          const m = document.querySelector(`[data-testid=replay-marker][data-device-id='${id}']`)
            .getBoundingClientRect();
          const f = document.querySelector('[data-testid=map]').getBoundingClientRect();
          return m.left >= f.left && m.right <= f.right && m.top >= f.top && m.bottom <= f.bottom;
        }""",
        arg=van,
        timeout=5_000,
    )

    # What is shown can be downloaded.
    link = page.get_by_role("link", name="Download Van 1 as GPX")
    answer = await page.request.get(await link.get_attribute("href"))
    assert answer.status == 200
    gpx = await answer.text()
    assert "<gpx" in gpx and gpx.count("<trkpt") == sent
    for kind in ("KML", "CSV"):
        assert await page.get_by_role("link", name=f"Download Van 1 as {kind}").count() == 1


async def test_several_vehicles_are_replayed_together_on_one_clock(site, person, page):
    van = await person.device("Van 1", "van-1")
    truck = await person.device("Truck 2", "truck-2")
    start = _start_of_drive(30, 19 * STEP_S)
    sent_van = await _drive(site, "van-1", start, [50] * 19, lat=52.5, lon=13.4)
    sent_truck = await _drive(
        site, "truck-2", start + 30, [30] * 16, lat=52.52, lon=13.38, bearing=0
    )
    van_fixes = await _stored(person, van, sent_van)
    truck_fixes = await _stored(person, truck, sent_truck)

    await _open(page, person, f"/app/history?device={van}&day={_day(start)}")
    await page.locator(f'[data-testid="replay-marker"][data-device-id="{van}"]').wait_for()
    await page.get_by_role("checkbox", name="Truck 2").check()
    await page.locator(f'[data-testid="replay-marker"][data-device-id="{truck}"]').wait_for()
    assert "device=" in page.url and truck in page.url

    slider = page.get_by_role("slider", name="Replay time")
    assert int(await slider.get_attribute("min")) == start * 1000
    await slider.fill(str(start * 1000 + 95_000))
    state = await page.evaluate(READ_REPLAY)
    assert len(state["markers"]) == 2
    _assert_on_track(state, van, van_fixes)
    _assert_on_track(state, truck, truck_fixes)

    await page.get_by_role("radio", name=f"16{TIMES}").check()
    await page.get_by_role("button", name="Play").click()
    await page.wait_for_timeout(1200)
    moved = await page.evaluate(READ_REPLAY)
    assert moved["clock"] > state["clock"] + 10_000
    _assert_on_track(moved, van, van_fixes)
    _assert_on_track(moved, truck, truck_fixes)
    assert _marker(moved, van)["lon"] > _marker(state, van)["lon"]  # east
    assert _marker(moved, truck)["lat"] > _marker(state, truck)["lat"]  # north
    # The replay ends at the last fix of either vehicle and stops there.
    await page.get_by_role("button", name="Play").wait_for(timeout=15_000)
    ended = await page.evaluate(READ_REPLAY)
    assert ended["clock"] == (start + 30 + 15 * STEP_S) * 1000
    await check_accessibility(page, "history-two")


async def test_a_device_name_is_shown_as_text_never_run(site, person, page):
    hostile = await person.device(HOSTILE, "hostile-1")
    start = _start_of_drive(20, 5 * STEP_S)
    sent = await _drive(site, "hostile-1", start, [40] * 5, lat=48.1, lon=11.6)
    await _stored(person, hostile, sent)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await _open(page, person, f"/app/history?day={_day(start)}")
    # Without ?device= the first vehicle is chosen.
    await page.locator(f'[data-testid="replay-marker"][data-device-id="{hostile}"]').wait_for()
    assert await page.get_by_role("checkbox", name=HOSTILE).is_checked()
    assert await page.get_by_role("heading", name=HOSTILE).inner_text() == HOSTILE
    assert await page.get_by_role("img", name=HOSTILE).count() == 1
    assert HOSTILE in await page.locator(".replay-label").inner_text()
    assert dialogs == []
    assert await page.evaluate("() => window.__pwned === undefined")

    # In German, every control speaks German.
    await page.goto(f"/app/history?day={_day(start)}&lang=de")
    await page.locator(f'[data-testid="replay-marker"][data-device-id="{hostile}"]').wait_for()
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("button", name="Abspielen").wait_for()
    await page.get_by_role("slider", name="Zeitpunkt der Wiedergabe").wait_for()
    assert await page.get_by_role("checkbox", name="Folgen").count() == 1
    assert await page.get_by_role("link", name=f"{HOSTILE} als GPX herunterladen").count() == 1
    await page.get_by_role("button", name="Abspielen").click()
    await page.get_by_role("button", name="Anhalten").wait_for()
    await check_accessibility(page, "history-de")
