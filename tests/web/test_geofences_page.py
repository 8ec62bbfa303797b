"""The geofences page in Chromium: draw a fence with the mouse and see its exit alert arrive
live; a circle by keyboard, edited and deleted; server refusals beside their field; GeoJSON
and GPX import; names stay text; axe, and no CSP violation under a strict policy."""

from __future__ import annotations

import json
import time

import pytest
from strict_csp import strict_csp

from conftest import check_accessibility, sign_in

HOSTILE = "<script>alert(1)</script>"


async def _fences(person) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = await person.http.get("/api/v1/geofences", headers=person.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _map_ready(page) -> None:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=map]')?.dataset.fences !== undefined"
    )


async def _settled(page, locator) -> dict:  # type: ignore[no-untyped-def]
    """The element's box once it has stopped moving (map animations are over)."""
    last = None
    for _ in range(50):
        box = await locator.bounding_box()
        if box == last:
            return box
        last = box
        await page.wait_for_timeout(150)
    raise AssertionError("the element kept moving")


@pytest.mark.block_service_workers  # the strict policy is added by page.route
async def test_a_drawn_fence_alerts_live_when_a_vehicle_leaves_it(site, person, page):
    van = await person.device("Van 1", "van-1")
    await strict_csp(page, "**/app/geofences")
    # The person asks for fence alerts in the inbox (no rule, no inbox).
    await sign_in(page, person, path="/app/alerts")
    await page.get_by_label("Left a geofence in the inbox").check()
    await page.get_by_role("button", name="Save notification settings").click()
    await page.get_by_role("status").filter(has_text="Saved.").wait_for()

    await page.goto("/app/geofences")
    await _map_ready(page)
    await page.get_by_role("button", name="Draw an area").click()
    draw = page.get_by_role("button", name="Draw an area")
    assert await draw.get_attribute("aria-pressed") == "true"
    box = await page.get_by_test_id("map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(cx - 90, cy - 70), (cx + 90, cy - 70), (cx + 90, cy + 70), (cx - 90, cy + 70)]
    for x, y in corners:
        await page.mouse.click(x, y)
        await page.wait_for_timeout(150)
    await page.mouse.click(*corners[0])  # the first corner again closes the area

    await page.get_by_role("heading", name="New geofence").first.wait_for()
    await page.get_by_label("Name", exact=True).fill("Yard")
    await page.get_by_label("Van 1").check()
    assert await page.get_by_label("When a vehicle leaves (it must stay inside)").is_checked()
    await check_accessibility(page, "geofences-form")
    await page.get_by_role("button", name="Save geofence").click()
    row = page.get_by_test_id("geofence").filter(has_text="Yard")
    await row.wait_for()
    assert "Van 1" in await row.inner_text() and "Urgent when leaving" in await row.inner_text()
    (fence,) = await _fences(person)
    assert fence["kind"] == "polygon" and fence["device_ids"] == [van]
    assert fence["breach_on"] == "exit"
    drawn = fence["area"]["coordinates"][0]

    # Edit the shape: drag a corner outwards with the mouse, then save.
    await row.get_by_role("button", name="Edit").click()
    corner = page.get_by_role("button", name="Corner of the shape").first
    await corner.wait_for()
    await _settled(page, corner)  # the map zooms to the fence first
    await corner.scroll_into_view_if_needed()  # on a phone the form is below the map
    spot = await _settled(page, corner)
    x, y = spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x - 20, y - 20, steps=5)
    await page.mouse.move(x - 40, y - 40, steps=5)
    await page.mouse.up()
    await page.get_by_role("button", name="Save geofence").click()
    await page.get_by_role("heading", name="Edit geofence").wait_for(state="hidden")
    (fence,) = await _fences(person)
    ring = fence["area"]["coordinates"][0]
    assert len(ring) == 5 and ring != drawn
    assert len(ring) == 5 and ring[0] == ring[-1]
    lon = sum(p[0] for p in ring[:-1]) / 4
    lat = sum(p[1] for p in ring[:-1]) / 4

    # To the alerts page; from here on it is never reloaded.
    await page.get_by_role("link", name="Alerts").click()
    await page.wait_for_url("**/app/alerts")
    await page.get_by_text("No alerts yet").wait_for()
    now = int(time.time())
    await site.report("van-1", lat, lon, timestamp=now - 20)
    await site.report("van-1", min(lat + 15, 85), lon, speed_knots=40, timestamp=now - 5)
    alert = page.get_by_test_id("notification").filter(has_text="Yard")
    await alert.wait_for(timeout=15_000)
    text = await alert.inner_text()
    assert "Left a geofence" in text and "Urgent" in text and "Van 1" in text
    badge = page.locator("#unread-badge")
    await page.wait_for_function(
        "() => document.getElementById('unread-badge').textContent === '1'"
    )
    await alert.get_by_role("button", name="Mark as read").click()
    await badge.wait_for(state="hidden")


@pytest.mark.block_service_workers  # the strict policy is added by page.route
async def test_a_circle_by_keyboard_is_refused_then_saved_edited_and_deleted(site, person, page):
    await person.device("Van 1", "van-1")
    await strict_csp(page, "**/app/geofences")
    await sign_in(page, person, path="/app/geofences")
    await _map_ready(page)
    await page.get_by_text("Circle around a point").focus()
    await page.keyboard.press("Enter")
    await page.get_by_label("Latitude").fill("52.52")
    await page.get_by_label("Longitude").fill("13.405")
    await page.get_by_label("Circle radius (m)").fill("150000")
    await page.get_by_label("Circle radius (m)").press("Enter")
    # The form opens with the name field focused.
    name = page.get_by_label("Name", exact=True)
    await page.wait_for_function("() => document.activeElement.id === 'fence-name'")
    await page.keyboard.type("Customer")
    await page.get_by_label("Neither is urgent").check()
    await name.press("Enter")
    # 100 km is the largest circle: the server's reason shows beside the radius.
    beside = page.locator("#fence-radius-error")
    await beside.wait_for()
    assert "100" in await beside.inner_text()
    assert await page.get_by_label("Radius (metres)").get_attribute("aria-invalid") == "true"
    assert "not saved" in await page.get_by_role("alert").filter(has_text="not saved").inner_text()
    await check_accessibility(page, "geofences-refused")
    await page.get_by_label("Radius (metres)").fill("300")
    await page.get_by_label("Radius (metres)").press("Enter")
    row = page.get_by_test_id("geofence").filter(has_text="Customer")
    await row.wait_for()
    assert "Circle, radius 300 m" in await row.inner_text()
    (fence,) = await _fences(person)
    assert fence["kind"] == "circle" and fence["radius_m"] == 300
    assert fence["area"]["coordinates"] == [13.405, 52.52]
    assert fence["breach_on"] is None and fence["device_ids"] == []

    # Edit its fields: a new name, a radius, a speed limit and working hours.
    await row.get_by_role("button", name="Edit").click()
    await page.get_by_role("heading", name="Edit geofence").wait_for()
    assert await page.get_by_label("Name", exact=True).input_value() == "Customer"
    await page.get_by_label("Name", exact=True).fill("Customer site")
    await page.get_by_label("Radius (metres)").fill("450")
    await page.get_by_label("Speed limit inside (km/h, optional)").fill("30")
    await page.get_by_text("Watch only at certain times").click()
    await page.get_by_label("Sunday").uncheck()
    await page.get_by_label("From", exact=True).fill("07:00")
    await page.get_by_label("Until", exact=True).fill("19:00")
    await page.get_by_role("button", name="Save geofence").click()
    row = page.get_by_test_id("geofence").filter(has_text="Customer site")
    await row.wait_for()
    (fence,) = await _fences(person)
    assert fence["name"] == "Customer site" and fence["radius_m"] == 450
    assert fence["speed_limit_kmh"] == 30
    assert fence["schedule"]["days"] == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert (fence["schedule"]["start"], fence["schedule"]["end"]) == ("07:00", "19:00")

    # Delete asks first; "Keep it" keeps it.
    await row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this geofence?")
    await dialog.wait_for()
    await dialog.get_by_role("button", name="Keep it").click()
    await dialog.wait_for(state="hidden")
    assert len(await _fences(person)) == 1
    await row.get_by_role("button", name="Delete").click()
    await dialog.get_by_role("button", name="Delete").click()
    await row.wait_for(state="detached")
    assert await _fences(person) == []
    assert await page.get_by_text("No geofences yet.").is_visible()


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": "Yard"}, "geometry": {
            "type": "Polygon",
            "coordinates": [[[13.40, 52.51], [13.42, 52.51], [13.42, 52.53], [13.40, 52.51]]]}},
        {"type": "Feature", "properties": {"name": "Route 9", "width_m": 80}, "geometry": {
            "type": "LineString", "coordinates": [[13.40, 52.50], [13.45, 52.52], [13.50, 52.50]]}},
        {"type": "Feature", "properties": {"name": "Shop", "radius_m": 250}, "geometry": {
            "type": "Point", "coordinates": [13.43, 52.515]}},
        {"type": "Feature", "properties": {"name": "Just a point"}, "geometry": {
            "type": "Point", "coordinates": [13.44, 52.515]}},
        {"type": "Feature", "properties": {"name": "Bow tie"}, "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[13.0, 52.0], [13.1, 52.1], [13.1, 52.0], [13.0, 52.1], [13.0, 52.0]]
            ]}},
    ],
}

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Loop</name><trkseg>
    <trkpt lat="48.10" lon="11.50"/><trkpt lat="48.10" lon="11.60"/>
    <trkpt lat="48.15" lon="11.60"/><trkpt lat="48.10" lon="11.50"/>
  </trkseg></trk>
  <rte><name>Delivery run</name>
    <rtept lat="48.20" lon="11.50"/><rtept lat="48.25" lon="11.55"/><rtept lat="48.30" lon="11.52"/>
  </rte>
</gpx>"""


async def test_geojson_and_gpx_files_become_fences(site, person, page):
    await sign_in(page, person, path="/app/geofences")
    await _map_ready(page)
    upload = page.get_by_label("Import GPX or GeoJSON")
    await upload.set_input_files(
        files=[{"name": "depot.geojson", "mimeType": "application/geo+json",
                "buffer": json.dumps(GEOJSON).encode()}]
    )
    items = page.get_by_test_id("import-item")
    await items.first.wait_for()
    assert await items.count() == 4
    summary = await page.locator("#import-summary").inner_text()
    assert "Shapes found in depot.geojson: 4." in summary
    assert "Skipped (points without a radius, waypoints): 1." in summary
    assert await page.get_by_label("Corridor width of shape 2 (m)").input_value() == "80"
    await page.get_by_label("Name of shape 3").fill("Corner shop")
    await check_accessibility(page, "geofences-import")
    await page.get_by_role("button", name="Save imported geofences").click()
    # The bow tie crosses itself: it stays, with the server's reason beside it.
    await page.get_by_role("alert").filter(has_text="not saved").wait_for()
    assert await items.count() == 1
    assert "Bow tie" in await page.get_by_label("Name of shape 4").input_value()
    assert await page.locator("#import-error-4").inner_text()
    fences = {f["name"]: f for f in await _fences(person)}
    assert {n: f["kind"] for n, f in fences.items()} == {
        "Yard": "polygon", "Route 9": "corridor", "Corner shop": "circle"
    }
    assert fences["Route 9"]["width_m"] == 80 and fences["Corner shop"]["radius_m"] == 250
    await page.get_by_role("button", name="Discard").click()
    assert await page.locator("#import-review").is_hidden()

    await upload.set_input_files(
        files=[{"name": "runs.gpx", "mimeType": "application/gpx+xml", "buffer": GPX.encode()}]
    )
    await items.first.wait_for()
    assert await items.count() == 2
    await page.get_by_role("button", name="Save imported geofences").click()
    await page.locator("#import-review").wait_for(state="hidden")
    fences = {f["name"]: f for f in await _fences(person)}
    assert fences["Loop"]["kind"] == "polygon"
    assert fences["Delivery run"]["kind"] == "corridor" and fences["Delivery run"]["width_m"] == 50
    assert await page.get_by_test_id("geofence").count() == 5

    await upload.set_input_files(
        files=[{"name": "notes.json", "mimeType": "application/json", "buffer": b"{not json"}]
    )
    await page.get_by_role("alert").filter(has_text="could not be read").wait_for()


async def test_a_fence_name_is_text_never_markup(site, person, page):
    van = await person.device(HOSTILE, "hostile-1")
    made = await person.http.post(
        "/api/v1/geofences",
        headers=person.headers,
        json={"name": HOSTILE, "area": {"type": "Point", "coordinates": [13.4, 52.5]},
              "radius_m": 500, "device_ids": [van], "breach_on": "enter"},
    )
    assert made.status_code == 201, made.text
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, person, path="/app/geofences")
    await _map_ready(page)
    row = page.get_by_test_id("geofence").first
    text = await row.inner_text()
    assert text.count(HOSTILE) == 2  # the fence's name and the vehicle's
    assert "Urgent when entering" in text
    await row.get_by_role("button", name="Show on map").click()
    await page.locator("path.leaflet-interactive").first.hover()
    tooltip = page.locator(".leaflet-tooltip")
    await tooltip.wait_for()
    assert await tooltip.inner_text() == HOSTILE
    await row.get_by_role("button", name="Edit").click()
    assert await page.get_by_label("Name", exact=True).input_value() == HOSTILE
    assert await page.get_by_label(HOSTILE).is_checked()
    await check_accessibility(page, "geofences")
    assert dialogs == []
    assert await page.evaluate("() => window.__pwned === undefined")


async def test_a_corridor_and_a_circle_drawn_with_the_mouse(site, person, page):
    await sign_in(page, person, path="/app/geofences")
    await _map_ready(page)
    box = await page.get_by_test_id("map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    await page.get_by_role("button", name="Draw a corridor").click()
    for x, y in [(cx - 100, cy + 40), (cx, cy - 30), (cx + 100, cy + 40)]:
        await page.mouse.click(x, y)
        await page.wait_for_timeout(150)
    await page.get_by_role("button", name="Finish shape").click()
    await page.get_by_label("Corridor width (m)").fill("120")
    await page.get_by_label("Name", exact=True).fill("Motorway")
    await page.get_by_role("button", name="Save geofence").click()
    await page.get_by_test_id("geofence").filter(has_text="Motorway").wait_for()

    # A circle is at most 100 km across: zoom in first.
    for _ in range(4):
        await page.get_by_role("button", name="Zoom in").click()
        await page.wait_for_timeout(300)
    await page.get_by_role("button", name="Draw a circle").click()
    await page.mouse.click(cx - 60, cy)
    await page.wait_for_timeout(150)
    await page.mouse.click(cx + 20, cy)
    radius = page.get_by_label("Radius (metres)")
    await radius.wait_for()
    drawn = float(await radius.input_value())
    assert drawn > 0
    await page.get_by_label("Name", exact=True).fill("Depot")
    await page.get_by_role("button", name="Save geofence").click()
    await page.get_by_test_id("geofence").filter(has_text="Depot").wait_for()

    fences = {f["name"]: f for f in await _fences(person)}
    assert fences["Motorway"]["kind"] == "corridor" and fences["Motorway"]["width_m"] == 120
    assert len(fences["Motorway"]["area"]["coordinates"]) == 3
    assert fences["Depot"]["kind"] == "circle"
    assert abs(fences["Depot"]["radius_m"] - drawn) <= 1
