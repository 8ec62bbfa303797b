"""Stored events reach the inbox (live too), mail and webhooks; the pipeline never waits."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from camtel.mail.models import OutboxMail
from camtel.notify.models import InboxItem, Webhook
from helpers.env import free_port
from helpers.notify import (
    Receiver,
    add_rule,
    eventually,
    make_world,
    running,
    serve,
    store_event,
    with_settings,
)


async def _inbox(services, user_id):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(InboxItem).where(InboxItem.user_id == user_id)))


async def test_a_matching_event_lands_in_the_inbox_and_on_the_live_socket(services):
    world = await make_world(
        services, people={"owner@example.com": "owner", "viewer@example.com": "viewer"}
    )
    owner, viewer = world.users["owner@example.com"], world.users["viewer@example.com"]
    await add_rule(services, owner, event_types=["geofence_exit"])
    await add_rule(services, viewer, event_types=["overspeed"])
    live = services.live.subscribe()
    async with running(services.dispatcher) as dispatcher:
        record = await store_event(services, world, attributes={"geofence_name": "Depot"})
        dispatcher.events_stored([record])
        items = await eventually(lambda: _inbox(services, owner))
        update = await asyncio.wait_for(live.queue.get(), 2)
    assert [(i.title, i.event_id, i.read_at) for i in items] == [
        ("Van 7 left Depot", record.id, None)
    ]
    assert await _inbox(services, viewer) == []
    assert update.kind == "notification" and update.device_id == world.device
    assert update.payload["user_id"] == str(owner)
    assert "latitude" not in update.payload


async def test_the_same_event_twice_is_one_inbox_item(services):
    world = await make_world(services)
    owner = world.users["owner@example.com"]
    await add_rule(services, owner)
    async with running(services.dispatcher) as dispatcher:
        record = await store_event(services, world)
        dispatcher.events_stored([record])
        dispatcher.events_stored([record])
        await dispatcher.idle()
    assert len(await _inbox(services, owner)) == 1


async def test_drivers_hear_only_of_their_own_vehicle(services):
    world = await make_world(
        services, people={"boss@example.com": "owner", "driver@example.com": "driver"}
    )
    driver = world.users["driver@example.com"]
    await add_rule(services, driver)
    async with running(services.dispatcher) as dispatcher:
        dispatcher.events_stored([await store_event(services, world)])
        await dispatcher.idle()
    assert await _inbox(services, driver) == [], "not their vehicle"


async def test_events_stored_never_waits_and_counts_overflow(services):
    from camtel.notify.dispatcher import Dispatcher

    world = await make_world(services)
    record = await store_event(services, world)
    small = Dispatcher(
        settings=services.settings,
        database=services.database,
        mailer=services.mailer,
        live=services.live,
        queue_size=10,
    )
    started = time.perf_counter()
    for _ in range(1000):
        small.events_stored([record])  # nothing routes: the queue fills, then overflows
    assert time.perf_counter() - started < 0.5
    assert (small.received, small.overflow) == (10, 990)


async def test_urgent_events_pass_quiet_hours_by_mail_others_only_reach_the_inbox(services):
    inbox_ = _SmtpInbox()
    controller = Controller(inbox_, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailing = with_settings(
        services, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False
    )
    try:
        world = await make_world(mailing)
        owner = world.users["owner@example.com"]
        await add_rule(
            mailing,
            owner,
            channels=["inbox", "email"],
            quiet_start="00:00",
            quiet_end="23:59",
            time_zone="Europe/Berlin",
        )
        async with running(mailing.dispatcher) as dispatcher:
            calm = await store_event(mailing, world, type="motion_stop")
            sos = await store_event(
                mailing, world, type="alarm", urgent=True, attributes={"alarm": "sos"}
            )
            dispatcher.events_stored([calm, sos])
            await eventually(lambda: _async(inbox_.messages))
            await dispatcher.idle()
        assert len(await _inbox(mailing, owner)) == 2, "the inbox keeps both"
        assert len(inbox_.messages) == 1
        message = email.message_from_bytes(inbox_.messages[0], policy=email.policy.default)
        assert message["Subject"] == "[urgent] Van 7: alarm sos"
        assert "52.52" not in message.get_content(), "no coordinates in mail"
        async with mailing.database.session() as db:
            assert await db.scalar(select(func.count()).select_from(OutboxMail)) == 1
    finally:
        controller.stop()
        await mailing.database.dispose()


async def test_a_webhook_gets_the_event_signed(services):
    allowed = with_settings(services, webhook_allow_private=True)
    try:
        world = await make_world(allowed)
        async with serve(Receiver()) as receiver:
            async with allowed.database.session() as db:
                db.add(
                    Webhook(
                        organization_id=world.org,
                        url=receiver.url,
                        secret="s3cret-s3cret-s3cret",
                        events=["geofence_exit"],
                    )
                )
            async with running(allowed.dispatcher) as dispatcher:
                record = await store_event(allowed, world)
                other = await store_event(allowed, world, type="overspeed")
                dispatcher.events_stored([record, other])
                await asyncio.wait_for(receiver.arrived.wait(), 5)
                await dispatcher.idle()
                await asyncio.sleep(0.2)
        assert len(receiver.requests) == 1, "only subscribed types"
        got = receiver.requests[0]
        expected = hmac.new(b"s3cret-s3cret-s3cret", got.body, hashlib.sha256).hexdigest()
        assert got.headers["x-camtel-signature"] == f"sha256={expected}"
        assert got.headers["x-camtel-event"] == "geofence_exit"
        body = json.loads(got.body)
        assert (body["id"], body["type"], body["device_name"]) == (
            str(record.id),
            "geofence_exit",
            "Van 7",
        )
    finally:
        await allowed.database.dispose()


class _SmtpInbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server, _session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


async def _async(value):  # type: ignore[no-untyped-def]
    return value


@pytest.fixture(autouse=True)
def _quiet_aiosmtpd_logs(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level("WARNING", logger="mail.log")
