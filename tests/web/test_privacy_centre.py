"""The privacy centre in Chromium: a consent withdrawn (the ledger and its history), a copy of
the data downloaded and opened as a ZIP, who saw the data, sessions ended one by one, the
email address changed through its mailed link, the account deleted with the password and its
sign-in refused; axe on every state, in English and German."""

from __future__ import annotations

import io
import json
import re
import zipfile

from conftest import check_accessibility, sign_in
from helpers.accounts import PASSWORD, join, latest_token, sign_up

NASTY = "<script>alert(1)</script>"


async def _consents(person) -> dict:  # type: ignore[no-untyped-def]
    answer = await person.http.get("/api/v1/me/consents", headers=person.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_consent_is_given_and_withdrawn_with_one_click_each(site, person, page):
    await sign_in(page, person, path="/app/privacy")
    await page.get_by_role("heading", name="Privacy centre", level=1).wait_for()
    give = page.get_by_role("button", name="Give consent: Product news by email")
    await give.wait_for()
    await check_accessibility(page, "privacy")

    await give.click()
    withdraw = page.get_by_role("button", name="Withdraw consent: Product news by email")
    await withdraw.wait_for()
    assert (await _consents(person))["purposes"]["marketing_email"]["state"] == "given"
    await withdraw.click()
    await give.wait_for()
    shown = await _consents(person)
    assert shown["purposes"]["marketing_email"]["state"] == "withdrawn"
    assert [(r["outcome"], r["channel"]) for r in shown["history"]] == [
        ("given", "web"),
        ("withdrawn", "web"),
    ]
    history = page.locator("#consent-history tbody tr")
    assert await history.count() == 2
    newest = await history.first.inner_text()
    assert "Product news by email" in newest and "Withdrawn" in newest
    assert "In the web app" in newest

    # Sharing one's location with the organisation is on until the driver objects.
    await page.get_by_role(
        "button", name="Withdraw consent: Your location, shared with your organisation"
    ).click()
    await page.get_by_role(
        "button", name="Give consent: Your location, shared with your organisation"
    ).wait_for()
    shown = await _consents(person)
    assert shown["purposes"]["share_location_with_organisation"]["state"] == "withdrawn"
    await check_accessibility(page, "privacy-consents-decided")


async def test_a_copy_of_the_data_is_prepared_downloaded_and_opened(site, person, page):
    await person.device(f"Van {NASTY}", "privacy-van-1")
    await sign_in(page, person, path="/app/privacy")
    await page.get_by_role("button", name="Prepare my data for download").click()
    link = page.get_by_role("link", name="Download your data (ZIP)")
    await link.wait_for(timeout=30_000)
    await page.get_by_role("status").filter(has_text="ready to download").wait_for()
    await check_accessibility(page, "privacy-export-ready")
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    assert download.suggested_filename.startswith("camtel-export-")
    archive = zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes()))
    devices = json.loads(archive.read("data/devices.json"))
    assert [d["name"] for d in devices] == [f"Van {NASTY}"]
    assert person.email in archive.read("data/users.json").decode()
    assert "README.md" in archive.namelist()

    # Coming back later, the copy is still offered.
    await page.reload()
    await page.get_by_role("link", name="Download your data (ZIP)").wait_for()


async def test_who_saw_the_data_sign_ins_and_sessions(site, person, page):
    boss, _ = await sign_up(person.http, site.services, "boss@example.com", display_name=NASTY)
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()
    org = (await person.http.get("/api/v1/organizations", headers=boss)).json()[0]["id"]
    await join(person.http, boss, org, person.email, "driver", person.headers)
    van = await person.http.post(
        "/api/v1/devices",
        headers=boss,
        json={
            "name": f"Fleet van {NASTY}",
            "unique_id": "privacy-fleet-1",
            "protocol": "osmand",
            "organization_id": org,
            "driver_id": me["id"],
        },
    )
    assert van.status_code == 201, van.text
    read = await person.http.get(f"/api/v1/devices/{van.json()['id']}/positions", headers=boss)
    assert read.status_code == 200

    await sign_in(page, person, path="/app/privacy")
    row = page.locator("#audit-table tbody tr").first
    await row.wait_for()
    text = await row.inner_text()
    assert NASTY in text and "Owner" in text and "Viewed positions" in text
    assert f"Fleet van {NASTY}" in text
    assert await page.locator("#audit-table script, #audit-table b").count() == 0

    sign_ins = page.locator("#sign-ins-table tbody tr")
    await sign_ins.first.wait_for()
    assert "Signed in" in await sign_ins.first.inner_text()
    assert "The network you use now" in await sign_ins.first.inner_text()

    # The API token the fixture signed in with is a session of its own: sign it out here.
    await page.get_by_text("This browser").wait_for()
    # httpx signed in as "python-httpx <version>"; its session is named after that client.
    api_session = page.get_by_role("button", name=re.compile(r"^Sign out python-httpx"))
    await check_accessibility(page, "privacy-audit-sessions")
    assert await api_session.count() >= 1
    await api_session.first.click()
    await page.get_by_role("status").filter(has_text="Signed out").wait_for()
    gone = await person.http.get("/api/v1/me", headers=person.headers)
    assert gone.status_code == 401, "the API token ended"
    await page.reload()
    await page.get_by_role("heading", name="Privacy centre", level=1).wait_for()

    await page.get_by_role("button", name="Sign out this browser", exact=False).click()
    await page.wait_for_url("**/login")


async def test_the_email_address_is_changed_through_its_link(site, person, page):
    await sign_in(page, person, path="/app/privacy")
    await page.get_by_role("link", name="Email address").click()
    await page.get_by_label("New email address").fill("moved@example.com")
    await page.get_by_label("Your password", exact=True).fill("not my password at all")
    await page.get_by_role("button", name="Send confirmation link").click()
    field = page.get_by_label("Your password", exact=True)
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    await page.get_by_label("Your password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Send confirmation link").click()
    await page.get_by_role("status").filter(has_text="moved@example.com").wait_for()
    await check_accessibility(page, "privacy-email-sent")

    token = await latest_token(site.services, "moved@example.com")
    await page.goto(f"/email-change?token={token}")
    await page.get_by_role("heading", name="Email address changed").wait_for()
    assert token not in await page.content()
    await check_accessibility(page, "email-changed")
    await page.get_by_role("link", name="Back to the privacy centre").click()
    await page.wait_for_url(lambda url: url.endswith("/app/privacy#email"))
    assert await page.locator("#current-email").inner_text() == "moved@example.com"

    await page.goto(f"/email-change?token={token}")
    await page.get_by_role("heading", name="This link does not work").wait_for()


async def test_the_account_is_deleted_with_the_password_and_its_sign_in_refused(site, person, page):
    await person.device("Deleted van", "privacy-gone-1")
    await sign_in(page, person, path="/app/privacy")
    await page.get_by_role("link", name="Delete your account").click()
    await page.get_by_role("heading", name="What is deleted").wait_for()
    await page.get_by_role("heading", name="What is kept").wait_for()
    await check_accessibility(page, "privacy-delete")
    password = page.get_by_label("Your password, to confirm")
    await password.fill("not my password at all")
    await page.get_by_role("button", name="Delete my account and data").click()
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await password.element_handle()
    )
    assert "not right" in await page.locator("#delete-password-error").inner_text()
    still = await person.http.get("/api/v1/me", headers=person.headers)
    assert still.status_code == 200, "a wrong password erases nothing"

    await password.fill(PASSWORD)
    await page.get_by_role("button", name="Delete my account and data").click()
    await page.wait_for_url("**/goodbye")
    await page.get_by_role("heading", name="Your account is deleted").wait_for()
    await check_accessibility(page, "goodbye")

    await page.goto("/app/privacy")
    assert "/login" in page.url, "the session ended with the account"
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="not right").wait_for()
    assert "/login" in page.url


async def test_the_privacy_centre_speaks_german(site, person, page):
    await sign_in(page, person, path="/app/privacy?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("heading", name="Datenschutz-Center", level=1).wait_for()
    await page.get_by_role(
        "button", name="Einwilligung erteilen: Produktneuigkeiten per E-Mail"
    ).wait_for()
    await page.get_by_role("heading", name="Was gelöscht wird").wait_for()
    await check_accessibility(page, "privacy-de")
    await page.goto("/goodbye?lang=de")
    await check_accessibility(page, "goodbye-de")
    await page.goto("/email-change?token=nothing&lang=de")
    await page.get_by_role("heading", name="Dieser Link funktioniert nicht").wait_for()
    await check_accessibility(page, "email-change-de")
