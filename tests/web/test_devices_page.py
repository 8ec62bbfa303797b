"""The devices page in Chromium: add a device and read how to set it up, see refusals next to
their fields, rename and delete, and (operators) claim a device that called in unregistered."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import httpx

from camtel.accounts import service as accounts
from camtel.accounts.models import Membership
from camtel.accounts.roles import Role
from camtel.config import Settings
from camtel.web.devices import gateways, mqtt_broker, server_host
from conftest import check_accessibility, sign_in
from helpers.accounts import PASSWORD

HOSTILE = "<script>alert(1)</script>"


async def _field_error(page, field) -> str:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=await field.element_handle()
    )
    error = (await field.get_attribute("aria-describedby")).split()[-1]
    return await page.locator(f"#{error}").inner_text()


async def test_a_jt808_dash_cam_is_added_and_its_set_up_is_explained(site, person, page):
    # The test site runs no JT/T 808 gateway; the page tells the port the settings name.
    site.services.settings = site.services.settings.model_copy(update={"jt808_port": 5015})
    await sign_in(page, person, path="/app/devices")
    await page.get_by_text("No devices yet.").wait_for()
    assert await page.get_by_role("heading", name="Devices waiting to be claimed").count() == 0
    await check_accessibility(page, "devices-empty")

    form = page.locator("#add-form")
    await form.get_by_label("Name").fill("Van 7")
    await form.get_by_label("Kind of device").select_option(label="JT/T 808 dash cam")
    number = form.get_by_label("Terminal phone number (12 digits, as the device sends it)")
    await number.fill("13912345678")  # as printed, without the leading zero the device sends
    await form.get_by_role("button", name="Add device").click()

    setup = page.get_by_role("region", name="Set up Van 7")
    await setup.wait_for()
    told = await setup.inner_text()
    assert "5015" in told and "127.0.0.1" in told and "013912345678" in told
    assert "platform settings" in told
    card = page.locator("#device-cards li").filter(has_text="Van 7")
    await card.wait_for()
    assert "013912345678" in await card.inner_text()
    assert "Never seen" in await card.inner_text()
    await check_accessibility(page, "devices-setup")

    # The same terminal again: the server's refusal is shown at the identifier.
    await form.get_by_label("Name").fill("Van 8")
    await number.fill("013912345678")
    await form.get_by_role("button", name="Add device").click()
    assert "already registered" in await _field_error(page, number)
    await check_accessibility(page, "devices-taken")

    await form.get_by_label("Kind of device").select_option("teltonika")
    imei = form.get_by_label("IMEI (15 digits)")
    assert await imei.get_attribute("aria-invalid") is None, "a new kind clears the old error"
    await imei.fill("12ab")
    await form.get_by_role("button", name="Add device").click()
    assert "Enter the IMEI" in await _field_error(page, imei)

    await form.get_by_label("Kind of device").select_option("osmand")
    await form.get_by_label("Device identifier").wait_for()


async def test_a_device_name_stays_text_and_the_device_is_renamed_and_deleted(site, person, page):
    await person.device(HOSTILE, "phone-1")
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, person, path="/app/devices")
    card = page.locator("#device-cards li").first
    await card.wait_for()
    assert await card.get_by_role("heading").inner_text() == HOSTILE

    await page.get_by_role("button", name=f"Set-up instructions for {HOSTILE}").click()
    setup = page.get_by_role("region", name=f"Set up {HOSTILE}")
    await setup.wait_for()
    told = await setup.inner_text()
    assert f"http://127.0.0.1:{site.osmand_port}" in told and "phone-1" in told

    await page.get_by_role("button", name=f"Rename {HOSTILE}").click()
    await page.get_by_label(f"New name for {HOSTILE}").fill("Ana's phone")
    await page.get_by_role("button", name="Save").click()
    await page.locator("#device-cards h3").filter(has_text="Ana's phone").wait_for()

    await page.get_by_role("button", name="Delete Ana's phone").click()
    await check_accessibility(page, "devices-delete")
    await page.get_by_role("dialog").get_by_role("button", name="Delete device").click()
    await page.get_by_text("No devices yet.").wait_for()
    assert (await person.http.get("/api/v1/devices", headers=person.headers)).json() == []
    assert dialogs == []
    assert await page.evaluate("() => window.__pwned === undefined")


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


async def test_a_viewer_sees_the_device_but_may_not_rename_or_delete_it(site, person, page):
    await person.device("Shared van", "shared-1")
    org = (await person.http.get("/api/v1/me", headers=person.headers)).json()["organizations"]
    async with site.services.database.session() as db:
        viewer = await accounts.create_account(
            db,
            email="viewer@example.com",
            phone="+4915199887766",
            password=PASSWORD,
            min_length=8,
            now=site.services.clock(),
            verified=True,
        )
        db.add(
            Membership(
                user_id=viewer.id,
                organization_id=uuid.UUID(org[0]["id"]),
                role=Role.VIEWER,
                created_at=site.services.clock(),
            )
        )
    await sign_in(
        page, SimpleNamespace(email="viewer@example.com", password=PASSWORD), path="/app/devices"
    )
    card = page.locator("#device-cards li").filter(has_text="Shared van")
    await card.wait_for()
    await card.get_by_role("button", name="Set-up instructions for Shared van").wait_for()
    assert await card.get_by_role("button", name="Rename Shared van").count() == 0
    assert await card.get_by_role("button", name="Delete Shared van").count() == 0


async def test_an_operator_claims_a_device_that_called_in(site, page):
    operator = await _operator(site)
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"http://127.0.0.1:{site.osmand_port}/",
            params={"id": "stray-7", "lat": 52.5, "lon": 13.4},
        )
        assert answer.status_code == 404, "an unknown device is refused and noted as pending"
        token = (
            await http.post(
                f"{site.url}/api/v1/auth/token",
                json={"email": operator.email, "password": PASSWORD},
            )
        ).json()["access_token"]
        for _ in range(50):
            pending = await http.get(
                f"{site.url}/api/v1/pending-devices", headers={"Authorization": f"Bearer {token}"}
            )
            if pending.json():
                break
            await asyncio.sleep(0.1)
        assert [p["unique_id"] for p in pending.json()] == ["stray-7"]

    await sign_in(page, operator, path="/app/devices")
    waiting = page.get_by_role("list", name="Devices waiting to be claimed")
    await waiting.get_by_role("heading", name="stray-7").wait_for()
    await check_accessibility(page, "devices-pending")
    await waiting.get_by_role("button", name="Claim stray-7").click()
    form = page.locator("#add-form")
    assert await form.get_by_label("Kind of device").input_value() == "osmand"
    assert await form.get_by_label("Device identifier").input_value() == "stray-7"
    await form.get_by_label("Name").fill("Courier bike")
    await form.get_by_role("button", name="Add device").click()
    await page.get_by_role("region", name="Set up Courier bike").wait_for()
    await page.get_by_text("No device is waiting.").wait_for()


def test_devices_are_told_the_address_people_use() -> None:
    assert server_host("https://fleet.example.org/", "10.0.0.5") == "fleet.example.org"
    assert server_host("", "camtel.local") == "camtel.local"
    assert server_host("", None) == "127.0.0.1"
    assert mqtt_broker("", "h") is None
    assert mqtt_broker("mqtt://user:secret@broker.example:1884", "h") == "broker.example:1884"
    assert mqtt_broker("mqtts://127.0.0.1", "fleet.example.org") == "fleet.example.org:8883"
    told = gateways(
        Settings(public_url="https://fleet.example.org", jt808_port=6808, teltonika_port=0),
        "ignored",
    )
    assert told["host"] == "fleet.example.org"
    assert (told["jt808"], told["teltonika"]) == (6808, 0)
    assert "secret" not in str(told)
