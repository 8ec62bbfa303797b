"""The fleet page in Chromium: sign in, see each vehicle where it is, watch it move live."""

from __future__ import annotations

import time

from conftest import check_accessibility, sign_in

HOSTILE = "<script>alert(1)</script>"


async def test_a_reporting_device_moves_on_the_map_without_reloading(site, person, page):
    van = await person.device("Van 1", "van-1")
    await site.report("van-1", 52.5200, 13.4050, speed_knots=20, timestamp=int(time.time()) - 5)
    await sign_in(page, person)

    marker = page.locator(f'[data-testid="device-marker"][data-device-id="{van}"]')
    await marker.wait_for()
    assert float(await marker.get_attribute("data-lat")) == 52.52
    assert float(await marker.get_attribute("data-lon")) == 13.405
    await page.get_by_role("button", name="Van 1").first.wait_for()
    assert await page.get_by_test_id("map").is_visible()
    # The world is drawn from the bundled Natural Earth data: there are no tiles here.
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=map]').dataset.world === 'drawn'"
    )
    await check_accessibility(page, "fleet")

    await site.report("van-1", 52.5300, 13.4200, speed_knots=25, timestamp=int(time.time()))
    await page.wait_for_function(
        "id => { const m = document.querySelector("
        "`[data-testid=device-marker][data-device-id='${id}']`);"
        " return m && m.dataset.lat === '52.53' && m.dataset.lon === '13.42'; }",
        arg=van,
        timeout=10_000,
    )
    assert "Moving" in await page.locator("#device-list").inner_text()

    # The marker is a button for the keyboard too: Enter opens the vehicle's details.
    await marker.focus()
    await page.keyboard.press("Enter")
    details = page.get_by_role("complementary")
    await details.get_by_role("heading", name="Van 1").wait_for()
    assert await marker.get_attribute("aria-label") == "Van 1"


async def test_a_device_name_is_shown_as_text_never_run(site, person, page):
    hostile = await person.device(HOSTILE, "hostile-1")
    await site.report("hostile-1", 48.1, 11.6, timestamp=int(time.time()))
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, person)
    await page.locator(f'[data-device-id="{hostile}"][data-testid="device-marker"]').wait_for()
    assert HOSTILE in await page.locator("#device-list").inner_text()
    await page.get_by_role("button", name=HOSTILE).first.click()
    assert await page.locator("#details-heading").inner_text() == HOSTILE
    assert dialogs == []
    assert await page.evaluate("() => window.__pwned === undefined")


async def test_pages_need_a_session_and_come_back_after_signing_in(site, person, page):
    answer = await page.goto("/app")
    assert answer is not None
    assert "/login?next=/app" in page.url
    await check_accessibility(page, "login")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill("not the password at all")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="not right").wait_for()
    await page.get_by_label("Password", exact=True).fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app")
