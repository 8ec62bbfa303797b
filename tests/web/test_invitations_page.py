"""The invitation mail leads to a page where the invited person accepts or declines; accepting
puts the organisation's vehicles on their map."""

from __future__ import annotations

import re
import time

import httpx
from sqlalchemy import select

from camtel.mail.models import OutboxMail
from conftest import Person, check_accessibility, sign_in
from helpers.accounts import PASSWORD, sign_up


async def _invitation_mail(site, address: str) -> str:  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        mail = await db.scalar(
            select(OutboxMail).where(
                OutboxMail.to_address == address, OutboxMail.subject.like("You are invited%")
            )
        )
    assert mail is not None, "no invitation mail"
    return mail.body


async def test_the_mailed_link_opens_the_page_and_accepting_joins(site, person, page):  # type: ignore[no-untyped-def]
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()
    org = me["organizations"][0]["id"]
    van = await person.device("Van 1", "van-1")
    await site.report("van-1", 52.5, 13.4, timestamp=int(time.time()))
    async with httpx.AsyncClient(base_url=site.url) as http:
        headers, _ = await sign_up(
            http, site.services, "invited@example.com", phone="+4915123456780"
        )
        guest = Person("invited@example.com", PASSWORD, headers, http)
        invited = await person.http.post(
            f"/api/v1/organizations/{org}/invitations",
            headers=person.headers,
            json={"email": guest.email, "role": "manager"},
        )
        assert invited.status_code == 202, invited.text
        body = await _invitation_mail(site, guest.email)
        link = re.search(r"https?://\S+(/app/invitations)\b", body)
        assert link, "the mail links to the invitations page"

        await sign_in(page, guest, path="/app")
        await page.goto(link[1])
        await page.locator("[data-invitation-id]").wait_for()
        assert "Manager" in await page.locator("[data-invitation-id]").inner_text()
        await check_accessibility(page, "invitations")
        await page.get_by_role("button", name=re.compile("^Accept the invitation")).click()
        await page.get_by_text("You joined").wait_for()
        await page.goto("/app")
        await page.locator(f'[data-testid="device-marker"][data-device-id="{van}"]').wait_for()
        await page.goto("/app/invitations")
        await page.get_by_text("There is no invitation waiting for you.").wait_for()
