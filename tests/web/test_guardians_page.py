"""Guardians in Chromium: a young person invites a guardian from the privacy centre; the
guardian opens the mailed link, signs in on the way, confirms, allows collecting the ward's
location and refuses video, then has the ward's data deleted; axe on every page, in English
and German."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from conftest import Person, check_accessibility, sign_in
from helpers.accounts import PASSWORD, latest_token, sign_up

NASTY = "<script>alert(1)</script>"


async def _minor(site, http) -> Person:  # type: ignore[no-untyped-def]
    born = (datetime.now(UTC) - timedelta(days=365 * 15)).date().isoformat()
    headers, _ = await sign_up(
        http, site.services, "teen@example.com", date_of_birth=born, display_name=f"Tea {NASTY}"
    )
    return Person("teen@example.com", PASSWORD, headers, http)


async def test_a_guardian_is_invited_confirms_and_decides(site, person, page):
    teen = await _minor(site, person.http)
    await sign_in(page, teen, path="/app/privacy")
    await page.get_by_role("link", name="Guardians").click()
    await page.get_by_text("No guardian is linked to your account yet.").wait_for()
    location = page.locator("#collection-table tbody tr").first
    await location.wait_for()
    assert "Location" in await location.inner_text() and "No" in await location.inner_text()
    await page.get_by_label("Your guardian's email address").fill(person.email)
    await page.get_by_role("button", name="Invite guardian").click()
    await page.get_by_role("status").filter(has_text="We sent an invitation").wait_for()
    await check_accessibility(page, "privacy-minor")
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url("**/login")

    # The guardian opens the mailed link: signing in first, then back to the invitation.
    token = await latest_token(site.services, person.email)
    await page.goto(f"/guardian?token={token}")
    assert "/login" in page.url
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    confirm = page.get_by_role("button", name="Confirm: I am their guardian")
    await confirm.wait_for()
    assert "/guardian" in page.url
    await check_accessibility(page, "guardian-invitation")
    # Their account never stated an age (registered through the API): they confirm it here.
    await confirm.click()
    await page.get_by_role("alert").filter(has_text="confirm that you are 18 or older").wait_for()
    await page.get_by_label("I am 18 or older").check()
    await confirm.click()
    await page.get_by_role("status").filter(has_text=f"guardian of Tea {NASTY}").wait_for()
    await check_accessibility(page, "guardian-confirmed")

    await page.get_by_role("link", name="Decide what camtel may collect").click()
    await page.wait_for_url("**/app/privacy/wards")
    allow = page.get_by_role("button", name=f"Allow collecting Location of Tea {NASTY}")
    await allow.wait_for()
    await check_accessibility(page, "wards")
    await allow.click()
    await page.get_by_role("status").filter(has_text="Allowed: Location").wait_for()
    await page.get_by_role("button", name=f"Refuse collecting Video of Tea {NASTY}").click()
    await page.get_by_role("status").filter(has_text="Refused: Video").wait_for()
    status = (await teen.http.get("/api/v1/me/guardian", headers=teen.headers)).json()
    assert status["guardian_linked"] is True
    assert status["collection_allowed"] == {"location": True, "video": False, "diagnostics": False}
    ward = page.locator("li.ward")
    assert await ward.locator("script").count() == 0
    # The table is drawn again after the status is said: wait for it rather than race it.
    rows = ward.locator("tbody tr")
    await expect(rows.nth(0)).to_contain_text("Allowed")
    await expect(rows.nth(1)).to_contain_text("Refused")
    await expect(rows.nth(2)).to_contain_text("Not decided")
    await check_accessibility(page, "wards-decided")

    # The privacy centre of the guardian leads to the wards.
    await page.goto("/app/privacy")
    await page.get_by_role("link", name="The young people you are guardian of").wait_for()

    # Erasure is asked for with a confirmation.
    await page.goto("/app/privacy/wards")
    await page.get_by_role("button", name=f"Delete the data of Tea {NASTY}").click()
    dialog = page.get_by_role("dialog", name=f"Delete the data of Tea {NASTY}?")
    await dialog.wait_for()
    await check_accessibility(page, "wards-erase")
    await dialog.get_by_role("button", name="Cancel").click()
    assert (await teen.http.get("/api/v1/me", headers=teen.headers)).status_code == 200
    await page.get_by_role("button", name=f"Delete the data of Tea {NASTY}").click()
    await dialog.get_by_role("button", name="Delete their data").click()
    await page.get_by_role("status").filter(has_text="You are nobody's guardian").wait_for()
    assert (await teen.http.get("/api/v1/me", headers=teen.headers)).status_code == 401
    refused = await teen.http.post(
        "/api/v1/auth/token", json={"email": teen.email, "password": PASSWORD}
    )
    assert refused.status_code == 401


async def test_an_invitation_for_someone_else_is_refused_in_words(site, person, page):
    teen = await _minor(site, person.http)
    invited = await teen.http.post(
        "/api/v1/me/guardian", headers=teen.headers, json={"email": "parent@example.com"}
    )
    assert invited.status_code == 202
    token = await latest_token(site.services, "parent@example.com")
    await sign_in(page, person, path=f"/guardian?token={token}")
    await page.get_by_role("button", name="Confirm: I am their guardian").click()
    await page.get_by_role("alert").filter(has_text="sent to another email address").wait_for()
    await check_accessibility(page, "guardian-wrong-address")
    wards = await person.http.get("/api/v1/guardians/wards", headers=person.headers)
    assert wards.json() == []


async def test_the_guardians_pages_speak_german(site, person, page):
    await sign_in(page, person, path="/app/privacy/wards?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("status").filter(has_text="Sie sind derzeit für niemanden").wait_for()
    await check_accessibility(page, "wards-de")
    await page.goto("/guardian?token=irgendwas&lang=de")
    await page.get_by_role(
        "button", name="Bestätigen: Ich bin die erziehungsberechtigte Person"
    ).wait_for()
    await check_accessibility(page, "guardian-de")
