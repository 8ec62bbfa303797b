"""The account pages in Chromium: register and confirm the address from the mailed link, reset a
password, enrol an authenticator app and sign in with its code, sign out everywhere."""

from __future__ import annotations

import pyotp

from conftest import SCREENS, check_accessibility, sign_in
from helpers.accounts import PASSWORD, latest_token

NEW_PASSWORD = "another quite private passphrase"


async def _field_error(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """The error shown for a field: the field is invalid and described by the message."""
    field = page.get_by_label(label, exact=True)
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    described = (await field.get_attribute("aria-describedby") or "").split()
    error = [i for i in described if i.endswith("-error")]
    assert error, described
    return await page.locator(f"#{error[0]}").inner_text()


async def test_a_newcomer_registers_confirms_the_link_and_signs_in(site, page):
    await page.goto("/register")
    await check_accessibility(page, "register")
    await page.get_by_label("Email").fill("newcomer@example.com")
    await page.get_by_label("Mobile phone number").fill("0151 2345")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Your name (optional)").fill("Nora <b>Neu</b>")
    await page.get_by_role("checkbox", name="I am 18 or older").check()
    await page.get_by_role("button", name="Create account").click()
    assert "international form" in await _field_error(page, "Mobile phone number")
    await check_accessibility(page, "register-error")

    await page.get_by_label("Mobile phone number").fill("+49 151 23456789")
    await page.get_by_label("Password", exact=True).fill("password")
    await page.get_by_role("button", name="Create account").click()
    assert "most common" in await _field_error(page, "Password")
    assert await page.get_by_label("Mobile phone number").get_attribute("aria-invalid") is None

    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("heading", name="Check your mailbox").wait_for()
    assert "newcomer@example.com" in await page.locator("#register-done").inner_text()

    token = await latest_token(site.services, "newcomer@example.com")
    await page.goto(f"/verify?token={token}")
    await page.get_by_role("heading", name="Email address confirmed").wait_for()
    await check_accessibility(page, "verify")
    await page.get_by_role("link", name="Sign in").click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Email").fill("newcomer@example.com")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app")
    # The header names the person, as text: the markup they typed stays text.
    account = page.get_by_role("link", name="Account: Nora <b>Neu</b>")
    await account.wait_for()
    assert await page.locator("header b").count() == 0

    answer = await page.goto(f"/verify?token={token}")
    assert answer is not None and answer.status == 400
    await page.get_by_role("heading", name="This link does not work").wait_for()
    await check_accessibility(page, "verify-used")


async def test_registering_a_known_address_looks_the_same(site, person, page):
    await page.goto("/register")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Mobile phone number").fill("+33 6 12 34 56 78")
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("checkbox", name="I am 18 or older").check()
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("heading", name="Check your mailbox").wait_for()
    assert person.email in await page.locator("#register-done").inner_text()
    # Nothing changed: the old password still signs in, the new one does not.
    kept = await person.http.post(
        "/api/v1/auth/token", json={"email": person.email, "password": person.password}
    )
    assert kept.status_code == 200


async def test_a_forgotten_password_is_reset_through_the_pages(site, person, page):
    await page.goto("/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url("**/reset")
    await check_accessibility(page, "reset-request")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_role("button", name="Send reset link").click()
    await page.get_by_role("heading", name="Check your mailbox").wait_for()

    token = await latest_token(site.services, person.email)
    await page.goto(f"/reset?token={token}")
    await check_accessibility(page, "reset-confirm")
    await page.get_by_label("New password").fill("aaaaaaaaaaaa")
    await page.get_by_role("button", name="Set new password").click()
    assert "too simple" in await _field_error(page, "New password")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set new password").click()
    await page.get_by_role("heading", name="Your password is changed").wait_for()

    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app")

    # The link worked once.
    await page.goto(f"/reset?token={token}")
    await page.get_by_label("New password").fill("yet another private passphrase")
    await page.get_by_role("button", name="Set new password").click()
    await page.get_by_role("alert").filter(has_text="invalid, used or expired").wait_for()
    await page.get_by_role("link", name="Ask for a new link").wait_for()


async def test_an_authenticator_app_is_enrolled_and_its_code_signs_in(site, person, page):
    await sign_in(page, person, path="/app")
    await page.get_by_role("link", name="Account", exact=True).click()
    await page.wait_for_url("**/app/account")
    await check_accessibility(page, "account")
    await page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.get_by_role("img", name="QR code to scan with your authenticator app")
    await qr.wait_for()
    await page.wait_for_function(
        "() => { const qr = document.getElementById('totp-qr');"
        " return qr.complete && qr.naturalWidth > 0; }"
    )
    secret = (await page.get_by_test_id("totp-secret").inner_text()).replace(" ", "")
    await check_accessibility(page, "account-totp")

    drawn = await page.request.get("/app/account/totp.svg")
    assert drawn.status == 200
    assert drawn.headers["content-type"].startswith("image/svg+xml")
    assert drawn.headers["cache-control"] == "no-store"
    assert secret not in (await drawn.text()), "the secret is in the code's modules, not its text"

    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    await page.get_by_label("Code from your authenticator app").fill(wrong)
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    assert "not right" in await _field_error(page, "Code from your authenticator app")
    await page.get_by_label("Code from your authenticator app").fill(totp.now())
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    await page.get_by_role("status").filter(has_text="On: signing in asks for a code").wait_for()
    assert (await page.request.get("/app/account/totp.svg")).status == 404

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password", exact=True).fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("Code from your authenticator app")
    await code.wait_for()
    await code.fill(totp.now())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app")


async def test_profile_and_password_errors_stay_on_the_page(site, person, page):
    await sign_in(page, person, path="/app/account")
    await page.get_by_label("Your name", exact=True).fill("Dana Driver")
    await page.get_by_label("Mobile phone number").fill("12")
    await page.get_by_role("button", name="Save profile").click()
    assert "international form" in await _field_error(page, "Mobile phone number")
    await page.get_by_label("Mobile phone number").fill("+49 30 1234567")
    await page.get_by_role("button", name="Save profile").click()
    await page.get_by_role("status").filter(has_text="Profile saved").wait_for()
    await page.reload()
    await page.get_by_role("link", name="Account: Dana Driver").wait_for()
    assert await page.get_by_label("Mobile phone number").input_value() == "+49301234567"

    await page.get_by_label("Current password").fill("not my password at all")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    assert "not right" in await _field_error(page, "Current password")
    assert page.url.endswith("/app/account"), "a wrong password does not end the session"
    await page.get_by_label("Current password").fill(person.password)
    await page.get_by_role("button", name="Change password").click()
    await page.get_by_role("status").filter(has_text="Password changed").wait_for()
    await check_accessibility(page, "account-changed")


async def test_signing_out_everywhere_ends_every_other_session(site, person, page, browser):
    elsewhere = await browser.new_context(base_url=site.url, **SCREENS["desktop"])
    other = await elsewhere.new_page()
    try:
        await sign_in(other, person, path="/app/account")
        await sign_in(page, person, path="/app/account")
        await page.get_by_role("button", name="Sign out everywhere").click()
        await page.wait_for_url("**/login")
        await other.goto("/app/account")
        assert "/login?next=/app/account" in other.url
        gone = await person.http.get("/api/v1/me", headers=person.headers)
        assert gone.status_code == 401, "the API token ended too"
    finally:
        await elsewhere.close()


async def test_the_account_pages_speak_german(site, page):
    await page.goto("/register?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("heading", name="Konto anlegen").wait_for()
    await page.goto("/verify?token=nothing-like-a-token&lang=de")
    await page.get_by_role("heading", name="Dieser Link funktioniert nicht").wait_for()


async def test_without_scripts_a_password_never_travels_in_an_address(site, browser):
    """The forms that take a password post (their scripts send JSON; without scripts the
    browser would otherwise put every field, the password too, in the address: history, logs,
    the Referer of the next page)."""
    context = await browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = await context.new_page()
        addresses: list[str] = []
        page.on("request", lambda r: addresses.append(r.url))
        for path, field in (("/register", "Password"), ("/reset?token=x", "New password")):
            await page.goto(path)
            await page.get_by_label(field, exact=True).fill(PASSWORD)
            async with page.expect_navigation():
                await page.get_by_label(field, exact=True).press("Enter")  # submits the form
        leaked = [a for a in addresses if "passphrase" in a or "password=" in a]
        assert not leaked, leaked
        assert len(addresses) >= 4, addresses  # both pages and both submissions were seen
    finally:
        await context.close()
