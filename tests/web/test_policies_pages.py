"""The privacy policy and terms pages in Chromium (P21): camtel's default text before anything
is published, the version in force rendered from Markdown with no raw HTML, earlier versions
with their dates, what changed between two versions as a list that says it in words, the mail
that links to the page, and a new version accepted at the next sign-in."""

from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from camtel.privacy import policies
from conftest import SCREENS, check_accessibility

V1 = """# Privacy policy

## Statistics

We count visits without cookies.
We keep counts for one year.

## Contact

Write to our data-protection officer.
We answer within one month.
"""

V2 = """# Privacy policy

## Statistics

We count visits without cookies.
We keep counts for two years.

## Contact

Write to our data-protection officer.
We answer within one month.

## Markup stays text

<b>bold</b> and <script>alert(1)</script> and [a trap](javascript:alert(1)).
"""


async def _publish(site, text: str, kind: str = "privacy"):  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        row, _ = await policies.publish(
            db,
            site.services.mailer,
            kind=policies.Kind(kind),
            text=text,
            now=site.services.clock(),
            base_url=site.services.settings.base_url,
        )
        return row.version


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


async def test_the_default_texts_before_anything_is_published(site, page, browser, screen):
    for path, heading in (("/privacy", "Privacy policy"), ("/terms", "Terms of service")):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 200
        await page.get_by_role("heading", name=heading, level=1).wait_for()
        assert "standard text" in await page.locator("main").inner_text()
        assert await page.get_by_role("heading", name="All versions").count() == 0
        await check_accessibility(page, f"policy-default-{path[1:]}")

    async with german_page(browser, site, screen) as german:
        await german.goto("/privacy")
        await german.get_by_role("heading", name="Datenschutzerklärung", level=1).wait_for()
        assert "Standardtext" in await german.locator("main").inner_text()
        await check_accessibility(german, "policy-default-de")


async def test_versions_are_listed_and_compared_and_markup_stays_text(site, page):
    await _publish(site, V1)
    await _publish(site, V2)
    await page.goto("/privacy")
    await page.get_by_role("heading", name="Privacy policy", level=1).wait_for()
    main = page.locator("main")
    assert "Version 2, published" in await main.inner_text()
    # Raw HTML in the Markdown is shown as text, never as markup; a javascript: link is no link.
    text = page.locator(".policy-text")
    assert "<b>bold</b>" in await text.inner_text()
    assert "<script>alert(1)</script>" in await text.inner_text()
    assert await text.locator("b, script").count() == 0
    assert await text.locator("a[href^='javascript']").count() == 0
    versions = page.get_by_role("region", name="All versions")
    assert await versions.get_by_role("link", name="Version 1").count() == 1
    await check_accessibility(page, "policy")

    await page.get_by_label("From version").select_option("1")
    await page.get_by_label("To version").select_option("2")
    await page.get_by_role("button", name="Show the changes").click()
    await page.wait_for_url("**/privacy/changes?from=1&to=2")
    await page.get_by_role("heading", name="What changed in the Privacy policy").wait_for()
    changes = page.locator("ol.changes > li")
    assert await changes.count() == 2
    first = await changes.nth(0).inner_text()
    assert "under “Statistics”" in first
    # Said in words, not only in colour.
    assert "Removed" in first and "We keep counts for one year." in first
    assert "Added" in first and "We keep counts for two years." in first
    assert await changes.nth(0).locator("del strong").inner_text() == "one year."
    assert await changes.nth(0).locator("ins strong").inner_text() == "two years."
    second = await changes.nth(1).inner_text()
    assert "<script>alert(1)</script>" in second
    assert await page.locator("main script").count() == 0
    await check_accessibility(page, "policy-changes")

    await page.get_by_role("link", name="Read version 2 in full").click()
    await page.wait_for_url("**/privacy/2")
    await page.goto("/privacy/1")
    assert "earlier version, replaced by version 2" in await page.locator("main").inner_text()
    for missing in ("/privacy/3", "/privacy/changes?from=1&to=9", "/terms/1"):
        answer = await page.goto(missing)
        assert answer is not None and answer.status == 404, missing


async def test_the_mail_about_a_new_version_links_to_the_page(site, person):
    await _publish(site, V1)
    await _publish(site, V2)
    async with site.services.database.session() as db:
        mails = list(
            await db.scalars(
                select(OutboxMail)
                .where(OutboxMail.to_address == person.email)
                .where(OutboxMail.subject.contains("privacy policy"))
                .order_by(OutboxMail.created_at)
            )
        )
    assert len(mails) == 2
    base = site.services.settings.base_url
    for mail in mails:
        assert f"Read it at {base}/privacy\n" in mail.body
        assert "/api/v1/" not in mail.body
    assert f"{base}/privacy/changes?from=1&to=2" in mails[1].body
    async with httpx.AsyncClient() as http:
        shown = await http.get(f"{base}/privacy/changes?from=1&to=2")
    assert shown.status_code == 200 and "What changed" in shown.text


async def test_a_new_version_is_accepted_at_the_next_sign_in(site, person, page):
    await _publish(site, V1)
    accepted = await person.http.post(
        "/api/v1/me/policy-acceptance",
        headers=person.headers,
        json={"kind": "privacy", "version": 1},
    )
    assert accepted.status_code == 201, accepted.text
    await _publish(site, V2)
    await _publish(site, "# Terms\n\nBe fair.\n", kind="terms")

    await page.goto("/login?next=/app/history")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: urlsplit(url).path == "/app/policy-update")
    await page.get_by_role("heading", name="Please review our changes").wait_for()
    await page.get_by_role("heading", name="Privacy policy, version 2").wait_for()
    await page.get_by_role("heading", name="Terms of service, version 1").wait_for()
    changed = page.get_by_role("link", name="See what changed since version 1, which you accepted")
    assert await changed.get_attribute("href") == "/privacy/changes?from=1&to=2"
    await check_accessibility(page, "policy-update")

    await page.get_by_role("button", name="Accept", exact=True).click()
    await page.wait_for_url(lambda url: urlsplit(url).path == "/app/history")
    status = await person.http.get("/api/v1/me/policy-acceptance", headers=person.headers)
    assert status.json()["policy_acceptance_required"] is False
    # Nothing left to accept: the page sends people straight on.
    await page.goto("/app/policy-update?next=/app/alerts")
    await page.wait_for_url(lambda url: urlsplit(url).path == "/app/alerts")
    await page.goto("/privacy")
    assert await page.get_by_role("link", name="Review and accept").count() == 0
