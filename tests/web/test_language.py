"""English and German pages: the browser's language picks one, the switch changes it and keeps
the choice, and every page says which it is in `<html lang>`."""

from __future__ import annotations

from conftest import check_accessibility, sign_in


async def test_a_german_browser_gets_german_pages(browser, site, screen):  # type: ignore[no-untyped-def]
    from conftest import SCREENS

    context = await browser.new_context(base_url=site.url, locale="de-DE", **SCREENS[screen])
    page = await context.new_page()
    page.screen = screen
    await page.goto("/login")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_label("E-Mail").wait_for()
    await page.get_by_role("button", name="Anmelden").wait_for()
    await check_accessibility(page, "login-de")
    await context.close()


async def test_the_switch_changes_the_language_and_keeps_it(site, person, page):  # type: ignore[no-untyped-def]
    await sign_in(page, person)
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.get_by_role("link", name="Deutsch").click()
    await page.get_by_role("link", name="Flotte").wait_for()
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.goto("/app")  # no ?lang= any more: the choice is kept
    assert await page.locator("html").get_attribute("lang") == "de"
    assert await page.get_by_role("heading", name="Fahrzeuge").is_visible()
    await check_accessibility(page, "fleet-de")
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("link", name="Fleet").wait_for()
    assert await page.locator("html").get_attribute("lang") == "en"


async def test_pages_answer_in_the_accept_language_without_a_browser(client):  # type: ignore[no-untyped-def]
    german = await client.get("/login", headers={"Accept-Language": "de-CH, de;q=0.9"})
    assert german.status_code == 200
    assert '<html lang="de">' in german.text and "Anmelden" in german.text
    assert "camtel_lang" not in german.headers.get("set-cookie", ""), "no choice, no cookie"
    english = await client.get("/login", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    chosen = await client.get("/login?lang=de")
    assert "camtel_lang=de" in chosen.headers["set-cookie"]


async def test_the_switch_keeps_the_address_of_a_mailed_link(client):  # type: ignore[no-untyped-def]
    page = await client.get("/reset?token=abc%2Bdef&x=1")
    assert 'href="/reset?token=abc%2Bdef&amp;x=1&amp;lang=de"' in page.text
    again = await client.get("/reset?token=abc&lang=de")
    assert 'href="/reset?token=abc&amp;lang=en"' in again.text


async def test_the_switch_drops_a_token_the_page_already_used(client):  # type: ignore[no-untyped-def]
    # /verify confirms on opening: its token is spent, so switching language neither shows it
    # in the page nor sends it again (which would only answer "link no longer valid").
    page = await client.get("/verify?token=spent-token&x=1")
    assert "spent-token" not in page.text
    assert 'href="/verify?x=1&amp;lang=de"' in page.text
