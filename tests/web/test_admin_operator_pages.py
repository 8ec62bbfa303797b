"""The operators' admin pages in Chromium: publishing a policy version (upload, preview,
publish: the outbox has the mail for every account) and the privacy registers (requests with
due dates, a disclosure recorded, a breach recorded, the authority told, people notified)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from sqlalchemy import func, select

from camtel.accounts import service as accounts
from camtel.accounts.models import User
from camtel.mail.models import OutboxMail
from conftest import check_accessibility, sign_in
from helpers.accounts import PASSWORD

HOSTILE = "<script>alert(1)</script>"
POLICY = f"""# Privacy policy 2026

We keep **positions** for 90 days.

{HOSTILE}

[Contact us](mailto:dpo@example.com) · [bad link](javascript:alert(1))
"""


async def _operator(site):  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        await accounts.create_account(
            db,
            email="operator@example.com",
            phone="+4915198765432",
            password=PASSWORD,
            min_length=8,
            now=site.services.clock(),
            verified=True,
            admin=True,
        )
    return SimpleNamespace(email="operator@example.com", password=PASSWORD)


async def _field_error(page, field) -> str:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    error = (await field.get_attribute("aria-describedby")).split()[-1]
    return await page.locator(f"#{error}").inner_text()


async def test_an_operator_previews_and_publishes_a_policy(site, person, page, tmp_path):
    operator = await _operator(site)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, operator, path="/app/admin")
    tabs = page.get_by_role("navigation", name="Administration")
    await tabs.get_by_role("link", name="Privacy registers").wait_for()
    # The sales page is another module's: linked exactly when it is served.
    served = (await page.request.get("/app/admin/sales")).status != 404
    assert await tabs.get_by_role("link", name="Sales").count() == (1 if served else 0)
    await tabs.get_by_role("link", name="Policies").click()
    await page.get_by_role("heading", name="Policies", level=1).wait_for()
    await page.get_by_text("Nothing has been published yet.").wait_for()
    publish = page.get_by_role("button", name="Publish", exact=True)
    assert await publish.is_disabled()

    text = page.get_by_label("Text (Markdown)")
    await page.get_by_role("button", name="Preview").click()
    assert "Write or upload" in await _field_error(page, text)

    upload = tmp_path / "privacy.md"
    upload.write_text(POLICY, encoding="utf-8")
    await page.get_by_label("Markdown file").set_input_files(str(upload))
    await page.wait_for_function(
        "() => document.getElementById('policy-markdown').value.includes('90 days')"
    )
    await page.get_by_label("What changed (put in the mail)").fill("Positions: 90 days.")
    await page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview: Privacy policy, version 1")
    await preview.wait_for()
    await preview.get_by_role("heading", name="Privacy policy 2026").wait_for()
    assert await preview.locator("strong").inner_text() == "positions"
    assert HOSTILE in await preview.inner_text()
    assert await preview.locator("script").count() == 0
    assert await preview.get_by_role("link", name="Contact us").get_attribute("href") == (
        "mailto:dpo@example.com"
    )
    assert await preview.locator("a[href^='javascript']").count() == 0
    await check_accessibility(page, "admin-policy-preview")

    # Editing the text after the preview takes Publish away until it is previewed again.
    await text.press("End")
    await text.type(" ")
    assert await publish.is_disabled()
    await text.press("Backspace")
    assert not await publish.is_disabled()

    await publish.click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("heading", name="Publish version 1 of the Privacy policy?").wait_for()
    await dialog.get_by_role("button", name="Publish and mail everyone").click()
    await page.get_by_text("Version 1 is published. Accounts being mailed: 2.").first.wait_for()
    current = page.get_by_role("list", name="In force")
    await current.get_by_text("Privacy policy 2026").wait_for()

    async with site.services.database.session() as db:
        accounts_count = await db.scalar(select(func.count()).select_from(User))
        mailed = list(
            await db.scalars(
                select(OutboxMail.to_address).where(
                    OutboxMail.subject == "camtel has a new privacy policy (version 1)"
                )
            )
        )
        bodies = list(
            await db.scalars(
                select(OutboxMail.body).where(OutboxMail.subject.contains("(version 1)"))
            )
        )
    assert accounts_count == 2
    assert sorted(mailed) == [person.email, operator.email]
    assert all("Positions: 90 days." in body for body in bodies)
    documents = (await person.http.get("/api/v1/policies/current")).json()["documents"]
    assert [(d["kind"], d["version"]) for d in documents] == [("privacy", 1)]
    assert dialogs == [] and await page.evaluate("() => window.__pwned === undefined")


async def test_an_operator_keeps_the_privacy_registers(site, person, page):
    operator = await _operator(site)
    device = await person.device("Van 1", "van-1")
    await site.report("van-1", 52.52, 13.40)
    exported = await person.http.get(
        "/api/v1/me/export", params={"async": "true"}, headers=person.headers
    )
    assert exported.status_code == 202
    for _ in range(100):  # the position is stored by the pipeline
        got = await person.http.get(f"/api/v1/devices/{device}/positions", headers=person.headers)
        if got.json():
            break
        await asyncio.sleep(0.1)

    await sign_in(page, operator, path="/app/admin/privacy")
    await page.get_by_role("heading", name="Privacy registers", level=1).wait_for()
    requests = page.locator("#requests-rows tr")
    await requests.first.wait_for()
    assert "Export" in await requests.first.inner_text()
    await page.get_by_text("No breach has been recorded.").wait_for()
    await check_accessibility(page, "admin-privacy")

    await page.get_by_text("Record a breach").click()
    form = page.locator("#breach-form")
    description = form.get_by_label("What happened")
    await description.fill("short")
    await form.get_by_role("button", name="Record breach").click()
    assert "at least 10" in await _field_error(page, description)
    await description.fill(f"A backup copy was readable without a password. {HOSTILE}")
    await form.get_by_role("button", name="Record breach").click()
    first_box = form.get_by_role("checkbox").first
    assert "kinds of data affected" in await _field_error(page, first_box)
    await form.get_by_label("Location").check()
    await form.get_by_role("button", name="Record breach").click()
    breaches = page.get_by_role("list", name="Breach register")
    card = breaches.get_by_role("listitem").first
    await card.get_by_text("Tell the authority by").wait_for()
    assert HOSTILE in await card.inner_text()
    await check_accessibility(page, "admin-privacy-breach")

    await card.get_by_role("button", name="Notify the people affected").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_text("People with data of these kinds: 1.").wait_for()
    await dialog.get_by_role("button", name="Mail them").click()
    await page.get_by_role("status").filter(has_text="People notified: 1.").wait_for()
    await card.get_by_role("button", name="Record that the authority was told").click()
    await card.get_by_text("The authority was told on").wait_for()
    async with site.services.database.session() as db:
        told = list(
            await db.scalars(
                select(OutboxMail.to_address).where(
                    OutboxMail.subject == "A security incident at camtel may affect your data"
                )
            )
        )
    assert told == [person.email]

    await page.get_by_text("Record a disclosure").click()
    form = page.locator("#disclosure-form")
    await form.get_by_label("Recipient").fill("Police Berlin")
    await form.get_by_label("Purpose").fill("A hit-and-run inquiry")
    await form.get_by_label("Legal basis").fill("Art. 6(1)(c) GDPR")
    await form.get_by_label("Location").check()
    people = form.get_by_label("People concerned (email addresses, one a line)")
    await people.fill("nobody@example.com")
    await form.get_by_role("button", name="Record disclosure").click()
    assert "has no account" in await _field_error(page, people)
    await people.fill(person.email)
    await form.get_by_role("button", name="Record disclosure").click()
    disclosures = page.get_by_role("list", name="Disclosure register")
    await disclosures.get_by_role("heading", name="Police Berlin").wait_for()
    assert "1 concerned, 1 told" in await disclosures.inner_text()
    await check_accessibility(page, "admin-privacy-disclosure")

    await page.goto("/app/admin/privacy?lang=de")
    await page.get_by_role("heading", name="Datenschutz-Register", level=1).wait_for()
    await page.wait_for_load_state("networkidle")
    await check_accessibility(page, "admin-de-privacy")
    await page.goto("/app/admin/policies")
    await page.get_by_role("heading", name="Richtlinien", level=1).wait_for()
    await page.wait_for_load_state("networkidle")
    await check_accessibility(page, "admin-de-policies")
    assert await page.evaluate("() => window.__pwned === undefined")
