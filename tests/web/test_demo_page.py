"""The demo page in Chromium: free times in the visitor's own time zone, a booked time gone for
the next visitor, a time taken meanwhile refused and the list refreshed, the invitation mailed,
cancelling by the mailed link frees the time; all of it without JavaScript too."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from camtel.sales.models import DemoBooking
from conftest import SCREENS, check_accessibility, sign_in
from helpers.privacy import make_operator

HOSTILE = "<script>alert(1)</script>"


async def _first_free(page):  # type: ignore[no-untyped-def]
    """The first free time of the first day shown: (its radio, its start)."""
    radio = page.locator("#slot-days details[open]").first.get_by_role("radio").first
    return radio, await radio.get_attribute("value")


async def _book(page, name: str, email: str) -> None:  # type: ignore[no-untyped-def]
    form = page.locator("#booking-form")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Email").fill(email)
    await form.get_by_role("button", name="Book the demo").click()


async def _mail(site, address: str) -> OutboxMail:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        mail = await db.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_address == address)
            .order_by(OutboxMail.created_at.desc())
        )
    assert mail is not None, f"no mail to {address}"
    return mail


async def test_a_booked_time_is_gone_for_the_next_visitor(site, page, browser):
    await page.goto("/demo")
    await check_accessibility(page, "demo")
    radio, start = await _first_free(page)
    # Shown in the visitor's own zone (the browser's: the test machine's), as the page says.
    zone = await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone in await page.locator("#zone-note").inner_text()
    shown = datetime.fromisoformat(start).astimezone(ZoneInfo(zone)).strftime("%H:%M")
    assert await radio.evaluate("r => r.labels[0].textContent") == shown

    await radio.check()
    email = f"guest-{page.screen}@example.com"
    await _book(page, HOSTILE, email)
    booked = page.locator("#booked")
    await booked.wait_for()
    assert email in await booked.inner_text()
    assert await page.locator(f'input[name="start"][value="{start}"]').count() == 0
    await check_accessibility(page, "demo-booked")

    async with site.services.database.session() as db:
        row = await db.scalar(select(DemoBooking).where(DemoBooking.email == email))
    assert row is not None and row.starts_at == datetime.fromisoformat(start)
    assert row.name == HOSTILE and row.time_zone == zone
    mail = await _mail(site, email)
    assert mail.attachments and mail.attachments[0]["filename"] == "invite.ics"
    assert "METHOD:" in mail.attachments[0]["content"]

    # Another visitor, another browser: the time is not offered any more.
    other = await browser.new_context(
        base_url=site.url, locale="de-DE", timezone_id="America/New_York", **SCREENS[page.screen]
    )
    try:
        visitor = await other.new_page()
        await visitor.goto("/demo")
        await visitor.locator("#slot-days details").first.wait_for()
        assert await visitor.locator(f'input[name="start"][value="{start}"]').count() == 0
        assert "America/New_York" in await visitor.locator("#zone-note").inner_text()
        _, theirs = await _first_free(visitor)
        in_new_york = datetime.fromisoformat(theirs).astimezone(ZoneInfo("America/New_York"))
        label = visitor.locator(f'input[value="{theirs}"] + label')
        assert await label.inner_text() == in_new_york.strftime("%H:%M")
    finally:
        await other.close()


async def test_a_time_taken_meanwhile_is_refused_and_the_list_refreshed(site, page):
    await page.goto("/demo")
    radio, start = await _first_free(page)
    await radio.check()
    # Someone else books the same time through the API while this visitor types.
    async with httpx.AsyncClient(base_url=site.url) as http:
        taken = await http.post(
            "/api/v1/demo-bookings",
            json={"start": start, "name": "Quick", "email": f"quick-{page.screen}@example.com"},
        )
    assert taken.status_code == 201, taken.text
    await _book(page, "Slow", f"slow-{page.screen}@example.com")
    error = page.locator("#start-error")
    await page.wait_for_function(
        "el => el.textContent.includes('just booked')", arg=await error.element_handle()
    )
    await page.wait_for_function(
        "start => !document.querySelector(`input[name=start][value='${start}']`)", arg=start
    )
    await check_accessibility(page, "demo-taken")

    # No time chosen: said at the list, nothing booked.
    await _book(page, "Slow", f"slow-{page.screen}@example.com")
    await page.wait_for_function(
        "el => el.textContent.includes('Choose a time')", arg=await error.element_handle()
    )


async def test_without_javascript_booking_and_cancelling_work(site, browser, screen):
    context = await browser.new_context(
        base_url=site.url, java_script_enabled=False, **SCREENS[screen]
    )
    email = f"plain-{screen}@example.com"
    try:
        page = await context.new_page()
        await page.goto("/demo")
        assert "Europe/Berlin" in await page.locator("#zone-note").inner_text()
        radio, start = await _first_free(page)
        await _book(page, "Ana", email)  # no time chosen yet
        assert "Choose a time" in await page.locator("#start-error").inner_text()
        radio, start = await _first_free(page)
        await radio.check()
        await _book(page, "Ana", email)
        assert email in await page.locator("#booked").inner_text()
        assert await page.locator(f'input[name="start"][value="{start}"]').count() == 0

        # The link in the mail cancels the demo, and the time is offered again.
        link = (await _mail(site, email)).body.split("someone else: ", 1)[1].split()[0]
        await page.goto(link.replace(site.services.settings.base_url, site.url))
        await page.get_by_role("button", name="Cancel this demo").click()
        assert "cancelled" in await page.locator("main").get_by_role("status").inner_text()
        cancel = await _mail(site, email)
        assert "STATUS:CANCELLED" in cancel.attachments[0]["content"]
        await page.goto("/demo")
        assert await page.locator(f'input[name="start"][value="{start}"]').count() == 1
    finally:
        await context.close()


async def test_the_page_in_german(site, page):
    await page.goto("/demo?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    assert await page.get_by_role("button", name="Demo buchen").count() == 1
    await check_accessibility(page, "demo-de")


async def test_the_sales_team_sees_demos_and_quotes(site, person, page):
    async with httpx.AsyncClient(base_url=site.url) as http:
        slots = (await http.get("/api/v1/demo-slots")).json()["slots"]
        booked = await http.post(
            "/api/v1/demo-bookings",
            json={"start": slots[0]["start"], "name": HOSTILE, "email": "g@example.com",
                  "company": "Vans & Co", "message": HOSTILE},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text
        saved = await http.post(
            "/api/v1/leads",
            json={"name": HOSTILE, "email": "lead@example.com", "consent": True,
                  "quote": {"mode": "buy", "devices": 25, "options": ["lte"]}},
        )  # fmt: skip
        assert saved.status_code == 201, saved.text
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()

    # Not an operator: the page is refused.
    await sign_in(page, person, path="/app")
    answer = await page.goto("/app/admin/sales")
    assert answer is not None and answer.status == 403

    await make_operator(site.services, me["id"])
    await page.goto("/app/admin/sales")
    demos = page.get_by_role("region", name="Upcoming demos")
    assert "Vans & Co" in await demos.inner_text()
    assert HOSTILE in await demos.inner_text(), "a hostile name stays text"
    quotes = page.get_by_role("region", name="Saved quotes")
    assert "Buy 25 devices: LTE data plan" in await quotes.inner_text()
    assert await page.evaluate("() => window.alerted === undefined")
    await check_accessibility(page, "admin-sales")
    link = page.get_by_role("link", name="Download all saved quotes (CSV)")
    sheet = await page.request.get(await link.get_attribute("href"))
    assert sheet.ok and "lead@example.com" in await sheet.text()
