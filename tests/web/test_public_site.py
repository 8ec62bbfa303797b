"""The public site in Chromium: the landing page (what camtel does, links to pricing, demo,
contact and the documents; "Open the app" once signed in), the imprint from the operator's
settings, the contact form to sales or the data-protection officer with its refusals shown on
the page, and robots.txt and sitemap.xml over HTTP."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from xml.etree import ElementTree

import httpx
from sqlalchemy import select

from camtel.accounts.ratelimit import RateLimiter
from camtel.privacy import contact, policies
from camtel.privacy.models import ContactMessage
from conftest import SCREENS, check_accessibility, sign_in

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@asynccontextmanager
async def german_page(browser, site, screen):  # type: ignore[no-untyped-def]
    """A page in a browser set to German (the context's locale sends Accept-Language)."""
    context = await browser.new_context(base_url=site.url, locale="de-DE", **SCREENS[screen])
    try:
        tab = await context.new_page()
        tab.screen = screen
        yield tab
    finally:
        await context.close()


async def test_the_landing_page_says_what_camtel_does_in_english_and_german(
    site, page, browser, screen
):
    answer = await page.goto("/")
    assert answer is not None and answer.status == 200
    assert answer.headers["x-robots-tag"] == "all"  # the public site may be indexed
    await page.get_by_role("heading", level=1).wait_for()
    assert await page.locator("html").get_attribute("lang") == "en"
    assert "camtel" in await page.title()
    description = await page.locator('meta[name="description"]').get_attribute("content")
    assert description and "dash-cam" in description
    for heading in ("For your own car", "For fleets", "How camtel treats your data"):
        await page.get_by_role("heading", name=heading).wait_for()
    # The contract's links, each exactly once.
    for name, href in (("Privacy", "/privacy"), ("Pricing", "/pricing"), ("Demo", "/demo")):
        link = page.get_by_role("link", name=re.compile(name, re.I))
        assert await link.count() == 1, name
        assert await link.get_attribute("href") == href
    for name in ("Contact", "Terms", "Imprint", "Sign in"):
        assert await page.get_by_role("link", name=name, exact=True).count() >= 1, name
    await check_accessibility(page, "landing")

    async with german_page(browser, site, screen) as german:
        await german.goto("/")
        assert await german.locator("html").get_attribute("lang") == "de"
        await german.get_by_role("heading", name="Für Flotten").wait_for()
        await german.get_by_role("button", name="Statistik erlauben").wait_for()
        await check_accessibility(german, "landing-de")
        for path, heading in (("/contact", "Kontakt"), ("/imprint", "Impressum")):
            await german.goto(path)
            await german.get_by_role("heading", name=heading, level=1).wait_for()
            await check_accessibility(german, f"{path[1:]}-de")


async def test_signed_in_people_see_open_the_app(site, person, page):
    await sign_in(page, person, path="/app")
    answer = await page.goto("/")
    assert answer is not None and answer.status == 200  # no longer a redirect to /app
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Open the app").click()
    await page.wait_for_url("**/app")


async def test_the_imprint_names_the_operator_from_the_settings(site, page):
    await page.goto("/imprint")
    await page.get_by_role("heading", name="Imprint").wait_for()
    assert "has not entered their details" in await page.locator("main").inner_text()

    site.services.settings = site.services.settings.model_copy(
        update={
            "operator_name": "Flotte <b>GmbH</b>",
            "operator_address": "Hauptstraße 1; 10115 Berlin; Germany",
            "operator_email": "hello@flotte.example",
            "operator_register": "Amtsgericht Berlin, HRB 123456",
            "dpo_email": "dpo@flotte.example",
        }
    )
    await page.reload()
    main = page.locator("main")
    text = await main.inner_text()
    for shown in ("Flotte <b>GmbH</b>", "Hauptstraße 1", "10115 Berlin", "HRB 123456"):
        assert shown in text
    assert await main.locator("b").count() == 0  # the operator's text stays text
    link = page.get_by_role("link", name="hello@flotte.example")
    assert await link.get_attribute("href") == "mailto:hello@flotte.example"
    await check_accessibility(page, "imprint")


async def _field_error(page, label: str) -> str:  # type: ignore[no-untyped-def]
    field = page.get_by_label(label, exact=True)
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    described = (await field.get_attribute("aria-describedby") or "").split()
    error = [i for i in described if i.endswith("-error")]
    assert error, described
    return await page.locator(f"#{error[0]}").inner_text()


async def _messages(site) -> list[ContactMessage]:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        return list(await db.scalars(select(ContactMessage)))


async def test_the_contact_form_goes_to_sales_or_the_dpo(site, page):
    await page.goto("/contact?topic=privacy")
    assert await page.get_by_label("Your data", exact=False).is_checked()
    await check_accessibility(page, "contact")
    await page.get_by_label("Subject").fill("What do you keep about me?")
    await page.get_by_label("Message").fill("Please tell me.")
    await page.get_by_role("button", name="Send message").click()
    assert "email address" in await _field_error(page, "Email")
    await check_accessibility(page, "contact-error")

    await page.get_by_label("Email").fill("kim@example.com")
    await page.get_by_label("Message").fill("x" * (contact.MAX_MESSAGE + 1))
    assert "over" in (await page.locator("#message-count").get_attribute("class") or "")
    await page.get_by_role("button", name="Send message").click()
    assert "longer than 10,000 characters" in await _field_error(page, "Message")
    assert await page.get_by_label("Email").get_attribute("aria-invalid") is None

    await page.get_by_label("Message").fill("<script>alert(1)</script> please tell me.")
    await page.get_by_role("button", name="Send message").click()
    await page.get_by_role("heading", name="Thank you, your message is on its way").wait_for()
    assert "data-protection officer" in await page.locator("#contact-done").inner_text()
    reference = await page.locator("#contact-reference").inner_text()
    (stored,) = await _messages(site)
    assert str(stored.id) == reference
    assert contact.topic_of(stored.subject) == "privacy"
    assert stored.message.startswith("<script>")

    await page.goto("/contact")
    assert await page.get_by_label("Sales", exact=False).is_checked()
    await page.get_by_label("Email").fill("fleet@example.com")
    await page.get_by_label("Subject").fill("Forty vans")
    await page.get_by_label("Message").fill("What would renting cost?")
    await page.get_by_role("button", name="Send message").click()
    await page.get_by_role("heading", name="Thank you, your message is on its way").wait_for()
    assert "sales team" in await page.locator("#contact-done").inner_text()
    sales = [m for m in await _messages(site) if m.email == "fleet@example.com"]
    assert [contact.topic_of(m.subject) for m in sales] == ["sales"]


async def test_the_contact_api_refuses_what_the_page_refuses(site):
    async with httpx.AsyncClient(base_url=site.url) as http:
        base = {"subject": "Hello", "message": "Hi"}
        missing = await http.post("/api/v1/contact", json=base | {"email": ""})
        assert missing.status_code == 422 and missing.json()["field"] == "email"
        long = await http.post(
            "/api/v1/contact",
            json=base | {"email": "a@example.com", "message": "x" * (contact.MAX_MESSAGE + 1)},
        )
        assert long.status_code == 422
        assert long.json()["errors"][0]["location"][-1] == "message"


async def test_too_many_messages_are_told_plainly(site, page):
    site.services.limiters.per_address = RateLimiter(1, 300)
    await page.goto("/contact")
    await page.get_by_label("Email").fill("busy@example.com")
    await page.get_by_label("Subject").fill("One")
    await page.get_by_label("Message").fill("First message.")
    await page.get_by_role("button", name="Send message").click()
    await page.get_by_role("heading", name="Thank you, your message is on its way").wait_for()

    await page.goto("/contact")
    await page.get_by_label("Email").fill("busy@example.com")
    await page.get_by_label("Subject").fill("Two")
    await page.get_by_label("Message").fill("Second message.")
    async with page.expect_response("**/api/v1/contact") as answer:
        await page.get_by_role("button", name="Send message").click()
    assert (await answer.value).status == 429
    alert = page.get_by_role("alert").filter(has_text="several messages in a short time")
    await alert.wait_for()
    assert await page.get_by_label("Message").input_value() == "Second message."
    await check_accessibility(page, "contact-rate-limited")


async def test_robots_and_sitemap_over_http(site):
    async with site.services.database.session() as db:
        await policies.publish(
            db,
            site.services.mailer,
            kind=policies.Kind.PRIVACY,
            text="# Privacy\n\nWe keep little.\n",
            now=site.services.clock(),
            base_url=site.url,
        )
    async with httpx.AsyncClient(base_url=site.url) as http:
        robots = await http.get("/robots.txt")
        assert robots.status_code == 200
        assert robots.headers["content-type"].startswith("text/plain")
        lines = robots.text.splitlines()
        assert "User-agent: *" in lines and "Disallow: /app" in lines
        assert "Disallow: /api/" in lines and "Disallow: /s/" in lines
        assert f"Sitemap: {site.url}/sitemap.xml" in lines
        assert "set-cookie" not in robots.headers

        sitemap = await http.get("/sitemap.xml")
        assert sitemap.status_code == 200
        assert sitemap.headers["content-type"].startswith("application/xml")
        root = ElementTree.fromstring(sitemap.content)
        urls = {
            u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod")
            for u in root.findall(f"{SITEMAP}url")
        }
        for path in ("/", "/contact", "/privacy", "/terms", "/imprint", "/cookies"):
            assert f"{site.url}{path}" in urls, path
        assert urls[f"{site.url}/privacy"] == site.services.clock().date().isoformat()
        assert not any("/app" in url or "/api/" in url for url in urls)
        # Every page the sitemap names answers.
        for url in urls:
            assert (await http.get(url)).status_code == 200, url
