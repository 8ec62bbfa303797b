"""The alerts page in Chromium: settings make an inbox rule, alerts arrive live and stand out
when urgent, read state reaches the nav badge, API-made rules stay, Web Push fails clearly."""

from __future__ import annotations

import time
import uuid

from camtel.db.base import utcnow
from camtel.notify.models import PushSubscription
from conftest import check_accessibility, sign_in
from helpers.notify import World, store_event
from notify.test_webpush import Browser, _b64e

HOSTILE = "<script>alert(1)</script>"
DEPOT = {
    "type": "Polygon",
    "coordinates": [
        [[13.40, 52.51], [13.42, 52.51], [13.42, 52.53], [13.40, 52.53], [13.40, 52.51]]
    ],
}


async def _device(person, name: str, unique_id: str) -> dict:  # type: ignore[no-untyped-def]
    """Add a device; the whole device as the API answers it."""
    made = await person.http.get(
        f"/api/v1/devices/{await person.device(name, unique_id)}", headers=person.headers
    )
    assert made.status_code == 200, made.text
    return made.json()


async def _rules(person) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = await person.http.get("/api/v1/notification-rules", headers=person.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _badge(page) -> str:  # type: ignore[no-untyped-def]
    badge = page.locator("#unread-badge")
    return "" if await badge.is_hidden() else await badge.inner_text()


async def _wait_badge(page, text: str) -> None:  # type: ignore[no-untyped-def]
    await page.wait_for_function(
        "want => { const b = document.getElementById('unread-badge');"
        " return want === '' ? b.hidden : !b.hidden && b.textContent === want; }",
        arg=text,
        timeout=10_000,
    )


async def test_an_inbox_rule_from_the_settings_brings_alerts_live(site, person, page):
    van = await _device(person, "Van 1", "van-1")
    fence = await person.http.post(
        "/api/v1/geofences",
        headers=person.headers,
        json={"name": "Depot", "area": DEPOT, "breach_on": "exit"},
    )
    assert fence.status_code == 201, fence.text
    await sign_in(page, person, path="/app/alerts")
    await page.get_by_text("No alerts yet").wait_for()

    # No rule, no inbox: the person asks for every event type in the inbox.
    assert await _rules(person) == []
    await page.get_by_label("Entered a geofence in the inbox").check()
    await page.get_by_label("Left a geofence in the inbox").check()
    assert not await page.get_by_label("Left a geofence by email").is_checked()
    every = page.get_by_label("Every event type in the inbox")
    assert await every.evaluate("box => box.indeterminate")
    await page.get_by_role("button", name="Save notification settings").click()
    await page.get_by_role("status").filter(has_text="Saved.").wait_for()
    (rule,) = await _rules(person)
    assert rule["channels"] == ["inbox"]
    assert rule["event_types"] == ["geofence_enter", "geofence_exit"]
    await check_accessibility(page, "alerts")

    # The van drives into the depot and out again; the page is not reloaded.
    now = int(time.time())
    await site.report("van-1", 52.52, 13.41, timestamp=now - 20)
    await site.report("van-1", 52.70, 13.80, speed_knots=30, timestamp=now - 5)
    items = page.get_by_test_id("notification")
    left = items.filter(has_text="Left a geofence")
    await left.wait_for(timeout=15_000)
    await items.filter(has_text="Entered a geofence").wait_for(timeout=15_000)
    assert await items.count() == 2
    # Newest first; the breach stands out in text, not colour alone.
    assert "Left a geofence" in await items.first.inner_text()
    assert "Urgent" in await left.inner_text()
    assert "Urgent" not in await items.filter(has_text="Entered a geofence").inner_text()
    assert "Van 1" in await left.inner_text()
    assert "Depot" in await left.inner_text()
    announced = await page.locator("#inbox-urgent-news").inner_text()
    assert "Depot" in announced
    await _wait_badge(page, "2")

    await left.get_by_role("button", name="Mark as read").click()
    await left.get_by_role("button", name="Mark as unread").wait_for()
    await _wait_badge(page, "1")
    unread = await person.http.get("/api/v1/notifications?unread=true", headers=person.headers)
    assert [i["type"] for i in unread.json()] == ["geofence_enter"]

    await page.get_by_role("button", name="Mark all as read").click()
    await _wait_badge(page, "")
    assert await page.get_by_role("button", name="Mark as read").count() == 0
    await page.evaluate("window.scrollTo(0, 0)")
    await check_accessibility(page, "alerts-read")
    assert van["id"]


async def test_rules_made_elsewhere_stay_and_old_alerts_load_in_pages(site, person, page):
    device = await _device(person, HOSTILE, "hostile-1")
    made = await person.http.post(
        "/api/v1/notification-rules",
        headers=person.headers,
        json={"name": "Crashes by mail", "event_types": ["collision"], "channels": ["email"]},
    )
    assert made.status_code == 201, made.text
    mine = await person.http.post(
        "/api/v1/notification-rules",
        headers=person.headers,
        json={"name": "settings-page:inbox", "channels": ["inbox"],
              "event_types": ["overspeed", "alarm"]},
    )
    assert mine.status_code == 201, mine.text
    world = World(org=uuid.UUID(device["organization_id"]), device=uuid.UUID(device["id"]))
    records = [
        await store_event(site.services, world, type="overspeed", attributes={})
        for _ in range(55)
    ]
    site.services.dispatcher.events_stored(records)
    await site.services.dispatcher.idle()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, person, path="/app/alerts")

    items = page.get_by_test_id("notification")
    await page.get_by_role("button", name="Load more").wait_for()
    assert await items.count() == 50
    await page.get_by_role("button", name="Load more").click()
    await page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=notification]').length === 55"
    )
    assert await page.get_by_role("button", name="Load more").is_hidden()
    # A hostile device name stays text.
    assert HOSTILE in await items.first.inner_text()
    assert dialogs == []

    # The page's own rule shows as ticks; the other rule is listed and kept.
    assert await page.get_by_label("Speeding in the inbox").is_checked()
    assert await page.get_by_label("Alarm in the inbox").is_checked()
    assert not await page.get_by_label("Collision in the inbox").is_checked()
    assert await page.get_by_label("Crashes by mail").is_checked()
    other = page.locator("#other-rules")
    assert "Collision" in await other.inner_text() and "Email" in await other.inner_text()

    await page.get_by_label("Alarm in the inbox").uncheck()
    await page.get_by_label("Every event type by email").check()
    assert await page.get_by_label("Collision by email").is_checked()
    await page.get_by_label("From").fill("22:00")
    await page.get_by_role("button", name="Save notification settings").click()
    await page.get_by_role("alert").filter(has_text="both times").wait_for()
    await page.get_by_label("Until").fill("06:30")
    await page.get_by_role("button", name="Save notification settings").click()
    await page.get_by_role("status").filter(has_text="Saved.").wait_for()
    rules = {rule["name"]: rule for rule in await _rules(person)}
    assert set(rules) == {"Crashes by mail", "settings-page:inbox", "settings-page:email"}
    assert rules["settings-page:inbox"]["event_types"] == ["overspeed"]
    assert rules["settings-page:email"]["event_types"] == []  # every type, later ones too
    assert rules["settings-page:email"]["quiet_start"] == "22:00"
    assert rules["settings-page:email"]["quiet_end"] == "06:30"
    assert rules["Crashes by mail"]["quiet_start"] is None

    # Switching the other rule off keeps it, disabled.
    await page.get_by_label("Crashes by mail").uncheck()
    await page.wait_for_function(
        "() => !document.querySelector('#other-rules input').disabled"
    )
    rules = {rule["name"]: rule for rule in await _rules(person)}
    assert rules["Crashes by mail"]["enabled"] is False
    await check_accessibility(page, "alerts-settings")


async def test_web_push_says_why_it_cannot_start_and_lists_browsers(site, person, page):
    me = (await person.http.get("/api/v1/me", headers=person.headers)).json()
    async with site.services.database.session() as db:
        db.add(
            PushSubscription(
                user_id=uuid.UUID(me["id"]),
                endpoint="https://push.example.net/send/abc",
                p256dh=Browser().p256dh,
                auth=_b64e(b"0123456789abcdef"),
                created_at=utcnow(),
            )
        )
    await page.context.grant_permissions(["notifications"])
    await sign_in(page, person, path="/app/alerts")
    listed = page.get_by_test_id("push-subscription")
    await listed.wait_for()
    assert "push.example.net" in await listed.inner_text()

    # Headless Chromium has no push service: the person is told, in words.
    await page.get_by_role("button", name="Turn on notifications in this browser").click()
    problem = page.locator("#push-error")
    await page.wait_for_function("() => document.getElementById('push-error').textContent")
    text = await problem.inner_text()
    assert "could not subscribe" in text or "blocked" in text or "service worker" in text, text
    turn_on = page.get_by_role("button", name="Turn on notifications in this browser")
    assert await turn_on.is_enabled()

    # Chromium itself logs why (its contexts here are incognito); that line is expected.
    page.problems[:] = [p for p in page.problems if "Push API in incognito" not in p]

    await listed.get_by_role("button", name="Remove").click()
    await page.locator("#push-list").get_by_text("None yet.").wait_for()
    left = await person.http.get("/api/v1/push/subscriptions", headers=person.headers)
    assert left.json() == []


async def test_both_pages_speak_german(site, person, page):
    await _device(person, "Transporter", "van-de")
    await sign_in(page, person, path="/app/alerts")
    # sign_in's URL pattern also matches /login?next=/app/alerts: wait for the page itself.
    await page.get_by_role("heading", name="Inbox").wait_for()
    await page.goto("/app/alerts?lang=de")
    assert await page.locator("html").get_attribute("lang") == "de"
    await page.get_by_role("heading", name="Posteingang").wait_for()
    assert await page.get_by_label("Geozone verlassen im Posteingang").is_visible()
    switch = page.get_by_role("button", name="Benachrichtigungen in diesem Browser einschalten")
    assert await switch.is_visible()
    await check_accessibility(page, "alerts-de")
    await page.goto("/app/geofences?lang=de")
    await page.get_by_role("button", name="Fläche zeichnen").click()
    hint = await page.locator("#draw-hint").inner_text()
    assert "Klicken Sie auf die Karte" in hint
    box = await page.get_by_test_id("map").bounding_box()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.get_by_text("Klicken Sie, um den ersten Punkt zu setzen").wait_for()
    await check_accessibility(page, "geofences-de")
    await page.get_by_role("button", name="Zeichnen abbrechen").click()
    assert await page.get_by_label("GPX oder GeoJSON importieren").is_visible()
