"""The pricing page in Chromium: the price shown is the API's for the same choices (buy and
rent, typed or sent as the no-script GET form), bad numbers are refused at their field, and a
saved quote is kept as a lead and mailed, with or without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from camtel.sales.models import Lead
from conftest import SCREENS, check_accessibility

HOSTILE = "<script>alert(1)</script>"


async def _api_quote(site, body: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=site.url) as http:
        answer = await http.post("/api/v1/quotes", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _shown(page, amount: str) -> None:  # type: ignore[no-untyped-def]
    total = page.get_by_test_id("quote-total")
    await page.wait_for_function(
        "([el, amount]) => el.dataset.amount === amount",
        arg=[await total.element_handle(), amount],
    )
    assert await total.get_attribute("data-currency") == "EUR"


async def _field_error(page, field) -> str:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    error = (await field.get_attribute("aria-describedby")).split()[-1]
    return await page.locator(f"#{error}").inner_text()


async def _mails_to(site, address: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        return list(await db.scalars(select(OutboxMail).where(OutboxMail.to_address == address)))


async def test_the_price_shown_is_the_apis_for_buying_and_renting(site, page, browser):
    await page.goto("/pricing")
    await check_accessibility(page, "pricing")
    default = await _api_quote(site, {"mode": "buy", "devices": 10})
    await _shown(page, default["total"])

    # Buying 55 devices with an LTE plan and an SD card: graduated tiers, a monthly service.
    await page.get_by_role("radio", name="Buy").check()
    await page.get_by_label("Devices", exact=True).fill("55")
    await page.get_by_role("checkbox", name="LTE data plan").check()
    await page.get_by_role("radio", name="SD card 128 GB").check()
    buy = await _api_quote(site, {"mode": "buy", "devices": 55, "options": ["lte", "sd_128"]})
    await _shown(page, buy["total"])
    lines = page.locator("#quote-lines tr")
    assert await lines.count() == len(buy["lines"])
    assert "devices 10\N{EN DASH}49" in await lines.nth(1).inner_text()
    assert "each month" in await page.locator("#quote-after").inner_text()

    # Renting the same for 24 months: the months box appears and the total is the lease's.
    months = page.get_by_label("Months", exact=True)
    assert not await months.is_visible(), "the lease length only matters when renting"
    await page.get_by_role("radio", name="Rent").check()
    await months.fill("24")
    rent = await _api_quote(
        site, {"mode": "rent", "devices": 55, "months": 24, "options": ["lte", "sd_128"]}
    )
    await _shown(page, rent["total"])
    assert "over 24 months" in await page.locator("#total-label").inner_text()
    await check_accessibility(page, "pricing-rent")

    # The address keeps the choices; the same address without JavaScript shows the same total.
    query = page.url.split("?", 1)[1]
    assert "mode=rent" in query and "devices=55" in query
    plain = await browser.new_context(
        base_url=site.url, java_script_enabled=False, **SCREENS[page.screen]
    )
    try:
        static = await plain.new_page()
        await static.goto(f"/pricing?{query}")
        total = static.get_by_test_id("quote-total")
        assert await total.get_attribute("data-amount") == rent["total"]
        # The no-script form itself: choose and press the button.
        await static.get_by_role("radio", name="Buy").check()
        await static.get_by_label("Devices", exact=True).fill("3")
        await static.get_by_role("button", name="Show the price").click()
        await static.wait_for_url("**/pricing?**devices=3**")
        three = await _api_quote(site, {"mode": "buy", "devices": 3, "options": ["lte", "sd_128"]})
        assert await total.get_attribute("data-amount") == three["total"]
    finally:
        await plain.close()


async def test_bad_numbers_are_refused_at_their_field(site, page):
    await page.goto("/pricing?mode=buy&devices=4")
    devices = page.get_by_label("Devices", exact=True)
    total = page.get_by_test_id("quote-total")

    await devices.fill("")
    await devices.press_sequentially("12e")  # text in a number box: the browser has no number
    assert "whole number of devices" in await _field_error(page, devices)
    assert await total.get_attribute("data-amount") == ""
    await check_accessibility(page, "pricing-refused")

    for typed in ("0", "10000000", "-3"):
        await devices.fill(typed)
        assert "1 to 10,000" in await _field_error(page, devices)
    await devices.fill("7")
    await _shown(page, (await _api_quote(site, {"mode": "buy", "devices": 7}))["total"])
    assert await devices.get_attribute("aria-invalid") is None

    await page.get_by_role("radio", name="Rent").check()
    months = page.get_by_label("Months", exact=True)
    await months.fill("18")
    assert "12, 24 or 36" in await _field_error(page, months)

    # Without a script, the server says the same at the field (a hand-made address too).
    await page.goto("/pricing?" + urlencode({"mode": "buy", "devices": "ten"}))
    assert "whole number of devices" in await page.locator("#devices-error").inner_text()
    await page.goto("/pricing?" + urlencode({"mode": "buy", "devices": "5", "options": "warp"}))
    assert "from the list" in await page.locator("#options-error").inner_text()


async def test_a_saved_quote_is_kept_and_mailed(site, page):
    email = f"buyer-{page.screen}@example.com"
    await page.goto("/pricing?mode=rent&devices=12&months=36&options=installation")
    expected = await _api_quote(
        site, {"mode": "rent", "devices": 12, "months": 36, "options": ["installation"]}
    )
    await _shown(page, expected["total"])

    save = page.locator("#save-form")
    await save.get_by_label("Name").fill(HOSTILE)
    await save.get_by_label("Email").fill(email)
    await save.get_by_label("Company (optional)").fill("Fleet & Sons")
    await save.get_by_role("button", name="Save this quote").click()
    consent = save.get_by_label("Contact me about this quote")
    assert "Tick the box" in await _field_error(page, consent)

    await consent.check()
    await save.get_by_role("button", name="Save this quote").click()
    thanks = page.locator("#saved")
    await thanks.wait_for()
    assert email in await thanks.inner_text()
    await check_accessibility(page, "pricing-saved")

    async with site.services.database.session() as db:
        lead = await db.scalar(select(Lead).where(Lead.email == email))
    assert lead is not None and lead.name == HOSTILE and lead.company == "Fleet & Sons"
    assert lead.quote["total"] == expected["total"] and lead.consent_version
    assert "12 months" in lead.consent_text
    mails = await _mails_to(site, email)
    assert len(mails) == 1 and mails[0].html
    assert "&lt;script&gt;" in mails[0].html and HOSTILE not in mails[0].html
    assert f"{float(expected['total']):,.2f} EUR" in mails[0].body


async def test_without_javascript_a_quote_is_saved_by_the_form(site, browser, screen):
    context = await browser.new_context(
        base_url=site.url, java_script_enabled=False, **SCREENS[screen]
    )
    try:
        page = await context.new_page()
        await page.goto("/pricing?mode=buy&devices=20&options=lte")
        save = page.locator("#save-form")
        await save.get_by_label("Name").fill("Ana")
        await save.get_by_label("Email").fill("not an address")
        await save.get_by_role("button", name="Save this quote").click()
        assert "valid email" in await page.locator("#lead-email-error").inner_text()
        assert "Tick the box" in await page.locator("#lead-consent-error").inner_text()
        assert await save.get_by_label("Name").input_value() == "Ana", "typed values are kept"

        email = f"nojs-{screen}@example.com"
        await save.get_by_label("Email").fill(email)
        await save.get_by_label("Contact me about this quote").check()
        await save.get_by_role("button", name="Save this quote").click()
        assert email in await page.locator("#saved").inner_text()
        [mail] = await _mails_to(site, email)

        # The link in the mail shows the quote and deletes it with the contact details.
        link = mail.body.split("delete them now, open ", 1)[1].split()[0]
        await page.goto(link)
        assert "Buy 20 devices: LTE data plan" in await page.locator("main").inner_text()
        await page.get_by_role("button", name="Delete my details").click()
        assert "deleted" in await page.locator("main").get_by_role("status").inner_text()
        async with site.services.database.session() as db:
            assert await db.scalar(select(Lead).where(Lead.email == email)) is None
        await page.goto(link)
        assert "does not work any more" in await page.locator("main").inner_text()
    finally:
        await context.close()


async def test_the_page_in_german(site, page):
    await page.goto("/pricing?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("radio", name="Mieten").check()
    await page.get_by_label("Geräte", exact=True).fill("30")
    await page.get_by_label("Monate", exact=True).fill("12")
    expected = await _api_quote(site, {"mode": "rent", "devices": 30, "months": 12})
    await _shown(page, expected["total"])
    assert "€" in await page.get_by_test_id("quote-total").inner_text()
    await check_accessibility(page, "pricing-de")
