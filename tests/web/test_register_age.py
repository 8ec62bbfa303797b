"""P20 in Chromium: the registration page asks for a birth date or "I am 18 or older" and does
not send a form stating neither; the server refuses a contradiction in the page's language;
an account registered without a statement is asked for it in the privacy centre."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from camtel.accounts.models import User
from conftest import check_accessibility, sign_in
from helpers.accounts import PASSWORD

REGISTER = "/api/v1/auth/register"


def years_ago(years: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


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


async def _fill_account(page, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.locator("#email").fill(email)
    await page.locator("#phone").fill("+49 151 23456789")
    await page.locator("#password").fill(PASSWORD)


async def test_the_registration_form_asks_for_an_age(site, page):
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.method) if r.url.endswith(REGISTER) else None)
    await page.goto("/register")
    await _fill_account(page, "young@example.com")
    await page.get_by_role("button", name="Create account").click()
    message = await _field_error(page, "Date of birth")
    assert "date of birth, or confirm that you are 18 or older" in message
    assert sent == [], "refused on the page: nothing was sent"
    await check_accessibility(page, "register-age-missing")

    # What the page sends without a statement, the server refuses as well.
    posted = await page.request.post(
        REGISTER,
        data={
            "email": "young@example.com",
            "phone": "+4915123456789",
            "password": PASSWORD,
            "adult": False,
        },
    )
    assert posted.status == 422 and (await posted.json())["code"] == "age_required"

    # A birth date under 18 with "I am 18 or older" is refused by the server, next to the box.
    await page.get_by_label("Date of birth", exact=True).fill(years_ago(15))
    await page.get_by_role("checkbox", name="I am 18 or older").check()
    await page.get_by_role("button", name="Create account").click()
    assert "less than 18 years ago" in await _field_error(page, "I am 18 or older")
    assert sent == ["POST"]

    await page.get_by_role("checkbox", name="I am 18 or older").uncheck()
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("heading", name="Check your mailbox").wait_for()
    assert await page.get_by_text("As you are under 18").is_visible()
    async with site.services.database.session() as db:
        user = await db.scalar(select(User).where(User.email == "young@example.com"))
    assert user is not None and user.age_basis == "birth_date"


async def test_the_age_question_and_its_refusals_speak_german(site, page):
    await page.goto("/register?lang=de")
    await _fill_account(page, "jung@example.com")
    await page.get_by_role("button", name="Konto anlegen").click()
    message = await _field_error(page, "Geburtsdatum")
    assert "Geburtsdatum ein oder bestätigen Sie" in message
    await page.get_by_label("Geburtsdatum", exact=True).fill(years_ago(12))
    await page.get_by_role("checkbox", name="Ich bin 18 Jahre oder älter").check()
    await page.get_by_role("button", name="Konto anlegen").click()
    refused = await _field_error(page, "Ich bin 18 Jahre oder älter")
    assert "weniger als 18 Jahre zurück" in refused, "the server's refusal, in German"


async def test_an_unstated_account_states_its_age_in_the_privacy_centre(site, person, page):
    await sign_in(page, person, path="/app/privacy")
    section = page.get_by_role("region", name="Your age")
    await section.get_by_role("heading", name="Your age").wait_for()
    await check_accessibility(page, "privacy-age")
    await section.get_by_role("button", name="Save my age").click()
    assert "confirm that you are 18 or older" in await _field_error(page, "Date of birth")

    await section.get_by_label("Date of birth", exact=True).fill(years_ago(16))
    await section.get_by_role("button", name="Save my age").click()
    await page.wait_for_url("**/app/privacy?age=stated#guardians")
    await page.get_by_text("You are under 18.").wait_for()
    assert await page.get_by_role("heading", name="Your age").count() == 0, "asked once"
    status = (await person.http.get("/api/v1/me/guardian", headers=person.headers)).json()
    assert status["is_minor"] is True
    assert not any(status["collection_allowed"].values()), "collection waits for a guardian"
