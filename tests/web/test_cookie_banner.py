"""The cookie banner in Chromium (P10, P11): a first visit sets no cookie at all and is counted
cookie-less; "Accept" and "Reject" are equally easy; each choice lands in the consent ledger
through PUT /api/v1/cookie-consent (or, without JavaScript, the page's form post); the banner
stays away after a choice and comes back from the footer's "Cookie settings"."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from camtel.privacy.models import AnalyticsHit, ConsentRecord
from conftest import SCREENS, check_accessibility, sign_in

CONSENT = "camtel_consent"


async def _ledger(site) -> list[ConsentRecord]:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        return list(await db.scalars(select(ConsentRecord).order_by(ConsentRecord.time)))


async def _hits(site) -> int:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        return int(await db.scalar(select(func.count()).select_from(AnalyticsHit)) or 0)


async def _wait_for(check, what: str, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Poll an async check until it holds (a page view is sent after the page loads)."""
    for _ in range(int(timeout * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _banner(page):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name="Cookies and statistics")


async def test_a_first_visit_sets_no_cookie_and_a_refusal_is_recorded(site, page):
    await page.goto("/")
    banner = _banner(page)
    await banner.wait_for()
    accept = banner.get_by_role("button", name="Accept statistics")
    reject = banner.get_by_role("button", name="Reject statistics")
    # Equally easy: the same size, the same look, next to each other.
    one, other = await accept.bounding_box(), await reject.bounding_box()
    assert one and other
    assert abs(one["width"] - other["width"]) < 1 and abs(one["height"] - other["height"]) < 1
    looks = (
        "el => { const s = getComputedStyle(el);"
        " return [s.backgroundColor, s.color, s.fontWeight, s.borderTopWidth, s.fontSize]; }"
    )
    assert await accept.evaluate(looks) == await reject.evaluate(looks)
    await check_accessibility(page, "cookie-banner")
    # Nothing stored in the browser before a choice; the visit is counted without a cookie.
    await _wait_for(lambda: _hits_at_least(site, 1), "the first visit counted")
    assert await page.context.cookies() == []

    await reject.click()
    await banner.wait_for(state="hidden")
    cookies = await page.context.cookies()
    assert [c["name"] for c in cookies] == [CONSENT]
    assert cookies[0]["value"].endswith(".0") and cookies[0]["httpOnly"]
    (record,) = await _ledger(site)
    assert (record.outcome, record.purpose, record.user_id) == ("refused", "analytics", None)
    assert cookies[0]["value"] == f"{record.visitor_id}.0"

    # The banner does not come back, and a "no" stops the counting.
    await page.goto("/contact")
    await page.get_by_role("heading", name="Contact", exact=True).wait_for()
    assert not await _banner(page).is_visible()
    await asyncio.sleep(0.5)
    assert await _hits(site) == 1

    # "Cookie settings" in the footer opens it again, and the choice can be changed.
    footer = page.get_by_role("contentinfo")
    await footer.get_by_role("link", name="Cookie settings").click()
    await _banner(page).wait_for()
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Cookies and statistics"
    assert "not counted" in await _banner(page).inner_text()
    await _banner(page).get_by_role("button", name="Accept statistics").click()
    await _banner(page).wait_for(state="hidden")
    records = await _ledger(site)
    assert [r.outcome for r in records] == ["refused", "given"]
    assert records[1].visitor_id == record.visitor_id
    state = await page.request.get("/api/v1/cookie-consent")
    assert (await state.json())["analytics"] is True


async def _hits_at_least(site, count: int) -> bool:  # type: ignore[no-untyped-def]
    return await _hits(site) >= count


async def test_accepting_on_the_sign_in_page_and_signed_in(site, person, page):
    await page.goto("/login")
    assert await page.context.cookies() == []
    await _banner(page).get_by_role("button", name="Accept statistics").click()
    await _banner(page).wait_for(state="hidden")
    (given,) = await _ledger(site)
    assert (given.outcome, given.user_id) == ("given", None) and given.visitor_id
    assert [c["name"] for c in await page.context.cookies()] == [CONSENT]
    await page.reload()
    assert not await _banner(page).is_visible()

    # Signed in, the choice in the settings goes to the account's own ledger.
    await sign_in(page, person, path="/app")
    await page.goto("/cookies")
    await check_accessibility(page, "cookie-settings")
    await page.get_by_role("button", name="Reject statistics").click()
    await page.get_by_role("status").filter(has_text="not counted").first.wait_for()
    consents = await person.http.get("/api/v1/me/consents", headers=person.headers)
    assert consents.json()["purposes"]["analytics"]["state"] in ("refused", "withdrawn")
    records = await _ledger(site)
    assert records[-1].user_id is not None and records[-1].channel == "web"


async def test_the_banner_works_without_javascript(site, browser, screen):
    context = await browser.new_context(
        base_url=site.url, locale="en-GB", java_script_enabled=False, **SCREENS[screen]
    )
    try:
        page = await context.new_page()
        await page.goto("/privacy")
        assert await context.cookies() == []
        await _banner(page).get_by_role("button", name="Reject statistics").click()
        await page.wait_for_url("**/privacy")
        assert not await _banner(page).is_visible()
        assert [c["name"] for c in await context.cookies()] == [CONSENT]
        (record,) = await _ledger(site)
        assert (record.outcome, record.channel) == ("refused", "web")
        # Without JavaScript "Cookie settings" is a page with the same choice.
        await page.get_by_role("contentinfo").get_by_role("link", name="Cookie settings").click()
        await page.wait_for_url("**/cookies")
        await page.get_by_role("button", name="Accept statistics").click()
        await page.wait_for_url("**/cookies")
        assert "are counted" in await page.locator("#cookie-settings-current").inner_text()
        assert [r.outcome for r in await _ledger(site)] == ["refused", "given"]
    finally:
        await context.close()


async def test_a_form_post_from_another_site_is_refused(site):
    import httpx

    async with httpx.AsyncClient(base_url=site.url) as http:
        forged = await http.post(
            "/cookies",
            data={"analytics": "1", "next": "/"},
            headers={"Origin": "https://elsewhere.example", "Accept": "text/html"},
        )
        assert forged.status_code == 403
        nameless = await http.post("/cookies", data={"analytics": "1"})
        assert nameless.status_code == 403
        own = await http.post(
            "/cookies", data={"analytics": "0", "next": "//evil.example/"},
            headers={"Origin": site.url},
        )
        assert own.status_code == 303 and own.headers["location"] == "/"
    assert [r.outcome for r in await _ledger(site)] == ["refused"]


async def test_do_not_track_and_global_privacy_control_are_honoured(site, browser):
    for header in ({"DNT": "1"}, {"Sec-GPC": "1"}):
        context = await browser.new_context(base_url=site.url, extra_http_headers=header)
        try:
            page = await context.new_page()
            # The page cannot see the headers, so it sends its view; camtel does not count it.
            async with page.expect_response("**/api/v1/analytics/hit") as sent:
                await page.goto("/")
            assert (await sent.value).status == 204
        finally:
            await context.close()
    assert await _hits(site) == 0
