"""The organisation admin in Chromium, for an owner: members (invite, the invitee accepts,
change the role, remove), groups and drivers, retention and legal holds; and the roles
enforced on the server (a viewer gets no Admin link, 403 pages and 403 from the forms' API)."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

from camtel.accounts import service as accounts
from camtel.accounts.models import Membership
from camtel.accounts.roles import Role
from conftest import check_accessibility, sign_in
from helpers.accounts import PASSWORD, sign_up

HOSTILE = "<script>alert(1)</script>"


async def _org(person) -> str:  # type: ignore[no-untyped-def]
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()
    return str(me["organizations"][0]["id"])


async def _field_error(page, field) -> str:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    error = (await field.get_attribute("aria-describedby")).split()[-1]
    return await page.locator(f"#{error}").inner_text()


async def _members(person, org: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = await person.http.get(f"/api/v1/organizations/{org}/members", headers=person.headers)
    return {m["email"]: m["role"] for m in rows.json()}


async def test_an_owner_invites_changes_a_role_and_removes_a_member(site, person, page):
    org = await _org(person)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, person, path="/app")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    await page.get_by_role("heading", name="Administration", level=1).wait_for()
    await check_accessibility(page, "admin-overview")
    tabs = page.get_by_role("navigation", name="Administration")
    await tabs.get_by_role("link", name="Members").click()
    await page.get_by_role("heading", name="Members", level=1).wait_for()
    members = page.get_by_role("list", name="People in this organisation")
    await members.get_by_role("heading", name=re.compile("driver")).wait_for()

    invite = page.locator("#invite-form")
    await invite.get_by_label("Email").fill("ana@example.com")
    await invite.get_by_label("Role").select_option(label="Manager")
    await invite.get_by_role("button", name="Send invitation").click()
    await page.get_by_text("Invitation sent to ana@example.com.").wait_for()
    pending = page.get_by_role("list", name="Invitations not yet answered")
    await pending.get_by_role("heading", name="ana@example.com").wait_for()
    await check_accessibility(page, "admin-members-invited")

    # Someone already in the organisation: the server's 409 is shown at the address.
    await invite.get_by_label("Email").fill(person.email)
    await invite.get_by_role("button", name="Send invitation").click()
    assert "already a member" in await _field_error(page, invite.get_by_label("Email"))

    # A second invitation, withdrawn.
    await invite.get_by_label("Email").fill("bo@example.com")
    await invite.get_by_role("button", name="Send invitation").click()
    await pending.get_by_role("heading", name="bo@example.com").wait_for()
    await page.get_by_role("button", name="Withdraw the invitation to bo@example.com").click()
    await pending.get_by_role("heading", name="bo@example.com").wait_for(state="detached")

    # Ana registers with the invited address (a hostile display name) and accepts by the API.
    ana, _ = await sign_up(
        person.http, site.services, "ana@example.com", phone="+4915111122233", display_name=HOSTILE
    )
    offered = (await person.http.get("/api/v1/me/invitations", headers=ana)).json()
    assert [o["role"] for o in offered] == ["manager"]
    accepted = await person.http.post(
        f"/api/v1/me/invitations/{offered[0]['id']}/accept", headers=ana
    )
    assert accepted.status_code == 200, accepted.text
    await page.reload()
    card = members.get_by_role("listitem").filter(has_text="ana@example.com")
    assert await card.get_by_role("heading").inner_text() == HOSTILE
    assert await pending.get_by_role("heading").count() == 0

    await card.get_by_label(f"Role of {HOSTILE}", exact=True).select_option(label="Viewer")
    await card.get_by_role("button", name=f"Change the role of {HOSTILE}").click()
    await page.get_by_role("status").filter(has_text="is now Viewer").wait_for()
    assert (await _members(person, org))["ana@example.com"] == "viewer"

    # The only owner making themselves a viewer: 422, shown at their role.
    mine = members.get_by_role("listitem").filter(has_text=person.email)
    own_role = mine.get_by_label(re.compile("^Role of"))
    await own_role.select_option(label="Viewer")
    await mine.get_by_role("button", name=re.compile("^Change the role of")).click()
    assert "at least one owner" in await _field_error(page, own_role)
    await check_accessibility(page, "admin-members-last-owner")

    await card.get_by_role("button", name=f"Remove {HOSTILE}").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("heading", name=f"Remove {HOSTILE}?").wait_for()
    await check_accessibility(page, "admin-members-remove")
    await dialog.get_by_role("button", name="Remove").click()
    await card.wait_for(state="detached")
    assert "ana@example.com" not in await _members(person, org)
    assert dialogs == [] and await page.evaluate("() => window.__pwned === undefined")


async def test_groups_and_drivers_are_assigned(site, person, page):
    van = await person.device("Van 1", "van-1")
    await person.device("Van 2", "van-2")
    org = await _org(person)
    await sign_in(page, person, path="/app/admin/devices")
    await page.get_by_text("No groups yet.").wait_for()
    await page.get_by_role("link", name="Add or rename devices on the Devices page.").wait_for()

    await page.get_by_label("Name of a new group").fill(HOSTILE)
    await page.get_by_role("button", name="Add group").click()
    groups = page.get_by_role("list", name="Groups")
    await groups.get_by_role("heading", name=HOSTILE).wait_for()
    await page.get_by_label("Name of a new group").fill(HOSTILE)
    await page.get_by_role("button", name="Add group").click()
    assert "exists already" in await _field_error(page, page.get_by_label("Name of a new group"))
    await check_accessibility(page, "admin-groups")

    devices = page.get_by_role("list", name="Devices: group and driver")
    await devices.get_by_label("Group of Van 1", exact=True).select_option(label=HOSTILE)
    driver = devices.get_by_label("Driver of Van 1", exact=True)
    await driver.select_option(label=f"{person.email} (Owner)")
    await devices.get_by_role("button", name="Save group and driver of Van 1").click()
    await page.get_by_role("status").filter(has_text="Van 1 saved.").wait_for()
    shown = (await person.http.get(f"/api/v1/devices/{van}", headers=person.headers)).json()
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()
    assert shown["group_id"] is not None and shown["driver_id"] == me["id"]
    assert shown["organization_id"] == org
    await groups.get_by_text("1 device").wait_for()

    await groups.get_by_role("button", name=f"Rename {HOSTILE}").click()
    await page.get_by_label(f"New name for {HOSTILE}").fill("Vans")
    await page.get_by_role("button", name="Save", exact=True).click()
    await groups.get_by_role("heading", name="Vans").wait_for()
    await groups.get_by_role("button", name="Delete Vans").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    await page.get_by_text("No groups yet.").wait_for()
    shown = (await person.http.get(f"/api/v1/devices/{van}", headers=person.headers)).json()
    assert shown["group_id"] is None and shown["driver_id"] == me["id"]
    assert await page.evaluate("() => window.__pwned === undefined")


async def test_a_retention_period_is_set_and_a_legal_hold_placed_and_released(
    site, person, page
):
    await person.device(HOSTILE, "van-9")
    org = await _org(person)
    await sign_in(page, person, path="/app/admin/retention")
    row = page.locator("#retention-rows tr").filter(has_text="Positions")
    await row.wait_for()
    assert "90 days" in await row.inner_text()
    await page.get_by_label("Data to keep for a period of your own").select_option(
        label="Positions"
    )
    days = page.get_by_label("Days to keep it")
    await days.fill("0")
    await page.get_by_role("button", name="Set period").click()
    assert "from 1 to 3,650" in await _field_error(page, days)
    await days.fill("30")
    await page.get_by_role("button", name="Set period").click()
    await row.filter(has_text="30 days (your own)").wait_for()
    shown = await person.http.get(
        f"/api/v1/organizations/{org}/retention", headers=person.headers
    )
    assert {r["table"]: r["days"] for r in shown.json()}["positions"] == 30
    await check_accessibility(page, "admin-retention")

    await page.get_by_label("Device or member to hold").select_option(label=HOSTILE)
    reason = page.get_by_label("Reason")
    await reason.fill("x")
    await page.get_by_role("button", name="Place hold").click()
    assert "3 to 300" in await _field_error(page, reason)
    await reason.fill("Insurance claim 2026-17")
    await page.get_by_role("button", name="Place hold").click()
    in_force = page.get_by_role("list", name="Legal holds in force")
    held = in_force.get_by_role("listitem").filter(has_text="Insurance claim 2026-17")
    assert await held.get_by_role("heading").inner_text() == f"Device {HOSTILE}"
    await check_accessibility(page, "admin-holds")
    await held.get_by_role("button", name=f"Release the hold on Device {HOSTILE}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Release hold").click()
    await page.get_by_text("No legal hold is in force.").wait_for()
    await page.get_by_text("Released holds").click()
    await page.get_by_role("list", name="Released holds").get_by_text(
        "Insurance claim 2026-17"
    ).wait_for()
    holds = await person.http.get(
        f"/api/v1/organizations/{org}/legal-holds", headers=person.headers
    )
    assert [h["released_at"] is not None for h in holds.json()] == [True]

    back = "Go back to camtel\u2019s period for Positions"
    await row.get_by_role("button", name=back).click()
    await row.filter(has_text="camtel\u2019s").wait_for()
    assert await page.evaluate("() => window.__pwned === undefined")


async def test_the_admin_pages_in_german(site, person, page):
    await sign_in(page, person, path="/app/admin")
    for path, heading in (
        ("/app/admin?lang=de", "Verwaltung"),
        ("/app/admin/members", "Mitglieder"),
        ("/app/admin/devices", "Gruppen und Fahrer"),
        ("/app/admin/retention", "Aufbewahrung und Sperren"),
    ):
        await page.goto(path)
        await page.get_by_role("heading", name=heading, level=1).wait_for()
        assert await page.locator("html").get_attribute("lang") == "de"
        await page.wait_for_load_state("networkidle")
        await check_accessibility(page, f"admin-de-{path.split('/')[-1].split('?')[0]}")


async def _account(site, email: str, phone: str, *, own_org: bool = True):  # type: ignore[no-untyped-def]
    async with site.services.database.session() as db:
        user = await accounts.create_account(
            db,
            email=email,
            phone=phone,
            password=PASSWORD,
            min_length=8,
            now=site.services.clock(),
            verified=True,
        )
        if not own_org:  # someone who only ever joined other organisations
            await db.execute(
                Membership.__table__.delete().where(Membership.user_id == user.id)
            )
    return user


async def test_a_viewer_gets_no_admin_and_the_forms_answer_403(site, person, page):
    org = await _org(person)
    viewer = await _account(site, "viewer@example.com", "+4915199887766", own_org=False)
    async with site.services.database.session() as db:
        db.add(
            Membership(
                user_id=viewer.id,
                organization_id=uuid.UUID(org),
                role=Role.VIEWER,
                created_at=site.services.clock(),
            )
        )
    await sign_in(page, SimpleNamespace(email="viewer@example.com", password=PASSWORD))
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Devices").wait_for()
    assert await nav.get_by_role("link", name="Admin").count() == 0

    for path in (
        "/app/admin",
        f"/app/admin/members?org={org}",
        "/app/admin/devices",
        "/app/admin/retention",
        "/app/admin/privacy",
        "/app/admin/policies",
    ):
        answer = await page.goto(path)
        assert answer.status == 403, path
        await page.get_by_role("heading", name="Not allowed").wait_for()
    await check_accessibility(page, "admin-viewer-403")

    posted = await page.evaluate(
        """async ([org, viewer]) => {
          const csrf = document.cookie.split("; ").find((c) => c.startsWith("camtel_csrf="))
            .split("=")[1];
          const send = async (method, path, body) => (await fetch(`/api/v1/${path}`, {
            method, headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
            body: JSON.stringify(body)})).status;
          return [
            await send("POST", `organizations/${org}/invitations`,
              {email: "x@example.com", role: "viewer"}),
            await send("POST", "groups", {name: "Mine", organization_id: org}),
            await send("PUT", `organizations/${org}/retention`, {table: "positions", days: 1}),
            await send("POST", `organizations/${org}/legal-holds`,
              {user_id: viewer, reason: "mine"}),
            await send("POST", "privacy/policies", {kind: "privacy", markdown: "# Mine"}),
            await send("POST", "privacy/breaches", {detected_at: new Date().toISOString(),
              description: "nothing at all really", categories: ["location"]}),
          ];
        }""",
        [org, str(viewer.id)],
    )
    assert posted == [403, 403, 403, 403, 403, 403]


async def test_an_owner_of_one_organisation_is_a_viewer_in_another(site, person, page):
    org = await _org(person)
    await _account(site, "owner2@example.com", "+4915199887755")
    async with site.services.database.session() as db:
        other = await accounts.find_by_email(db, email="owner2@example.com")
        db.add(
            Membership(
                user_id=other.id,
                organization_id=uuid.UUID(org),
                role=Role.VIEWER,
                created_at=site.services.clock(),
            )
        )
    await sign_in(page, SimpleNamespace(email="owner2@example.com", password=PASSWORD))
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").wait_for()
    await page.goto("/app/admin/members")
    await page.get_by_role("heading", name="Members", level=1).wait_for()
    assert await page.get_by_label("Organisation", exact=True).count() == 0, "one to run"
    answer = await page.goto(f"/app/admin/members?org={org}")
    assert answer.status == 403
    answer = await page.goto(f"/app/admin/retention?org={uuid.uuid4()}")
    assert answer.status == 404


async def test_an_owner_of_two_organisations_switches_between_them(site, person, page):
    made = await person.http.post(
        "/api/v1/organizations", headers=person.headers, json={"name": "Second fleet"}
    )
    assert made.status_code == 201
    second = made.json()["id"]
    await sign_in(page, person, path="/app/admin/members")
    switch = page.get_by_label("Organisation", exact=True)
    await switch.select_option(label="Second fleet")
    await page.get_by_role("button", name="Switch").click()
    await page.wait_for_url(f"**/app/admin/members?org={second}")
    await page.get_by_text("Administration · Second fleet").wait_for()
    tabs = page.get_by_role("navigation", name="Administration")
    href = await tabs.get_by_role("link", name="Groups and drivers").get_attribute("href")
    assert href == f"/app/admin/devices?org={second}"
    await tabs.get_by_role("link", name="Retention and legal holds").click()
    await page.get_by_text("Administration · Second fleet").wait_for()
    await check_accessibility(page, "admin-switch")
