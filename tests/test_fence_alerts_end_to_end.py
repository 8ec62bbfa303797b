"""Issue 4's promise end to end: a dash cam drives out of a polygon and into (and out of) a
circle; each crossing is stored once and reaches the inbox, email, Web Push and a signed
webhook. Real TCP terminal, real SMTP server, real HTTP endpoints on loopback."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
from datetime import UTC, datetime, timedelta

import httpx
from aiosmtpd.controller import Controller

from camtel.accounts.service import create_account
from camtel.app import build_api, publish_events
from helpers.accounts import PASSWORD
from helpers.env import free_port
from helpers.ingest import Terminal, location_body, running_ingest
from helpers.notify import Receiver, eventually, running, serve, with_settings
from notify.test_webpush import Browser, _b64e

PHONE = "013912340001"
SECRET = "a shared webhook secret, long enough"
CROSSINGS = ["geofence_enter", "geofence_exit"]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def smtp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bcd(utc: datetime) -> str:
    return (utc + timedelta(hours=8)).strftime("%y%m%d%H%M%S")


# A square of about 1 km around the depot, and a 300 m circle around the customer 3 km east.
DEPOT = {
    "type": "Polygon",
    "coordinates": [
        [
            [114.045, 22.535],
            [114.055, 22.535],
            [114.055, 22.545],
            [114.045, 22.545],
            [114.045, 22.535],
        ]
    ],
}
CUSTOMER = {"type": "Point", "coordinates": [114.080, 22.540]}
ROUTE = (
    [(22.5400, 114.0500)] * 3
    + [(22.5400, 114.0650)] * 3
    + [(22.5400, 114.0800)] * 3
    + [(22.5400, 114.1000)] * 3
)


async def test_crossings_reach_every_channel_once(services):
    inbox = Inbox()
    port = smtp_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    world = with_settings(
        services,
        webhook_allow_private=True,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
    )
    browser = Browser()
    try:
        transport = httpx.ASGITransport(app=build_api(world))
        async with (
            httpx.AsyncClient(transport=transport, base_url="https://t") as client,
            serve(Receiver()) as hook,
            serve(Receiver(status=201)) as push,
        ):
            async with world.database.session() as db:
                await create_account(
                    db,
                    email="dispatch@example.com",
                    phone="+4915123456789",
                    password=PASSWORD,
                    min_length=8,
                    now=world.clock(),
                    verified=True,
                )
            login = await client.post(
                "/api/v1/auth/token", json={"email": "dispatch@example.com", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            device = (
                await client.post(
                    "/api/v1/devices",
                    headers=headers,
                    json={"name": "Van 12", "unique_id": PHONE, "protocol": "jt808"},
                )
            ).json()
            for body in (
                {"name": "Depot", "area": DEPOT},
                {"name": "Customer", "area": CUSTOMER, "radius_m": 300},
            ):
                made = await client.post("/api/v1/geofences", headers=headers, json=body)
                assert made.status_code == 201, made.text
            assert (
                await client.post(
                    "/api/v1/notification-rules",
                    headers=headers,
                    json={"event_types": CROSSINGS, "channels": ["inbox", "email", "webpush"]},
                )
            ).status_code == 201
            assert (
                await client.post(
                    "/api/v1/push/subscriptions",
                    headers=headers,
                    json={
                        "endpoint": push.url + "/sub",
                        "keys": {"p256dh": browser.p256dh, "auth": _b64e(browser.auth)},
                    },
                )
            ).status_code == 201
            assert (
                await client.post(
                    "/api/v1/webhooks",
                    headers=headers,
                    json={"url": hook.url, "events": CROSSINGS, "secret": SECRET},
                )
            ).status_code == 201
            mailed_before = len(inbox.messages)

            async with (
                running(world.dispatcher),
                running_ingest(world, jt808_port=free_port()) as ingest,
            ):
                ingest.worker.store.event_listeners.append(lambda rows: publish_events(world, rows))
                terminal = await Terminal(PHONE).connect(ingest.ports["jt808"])
                await terminal.login()
                start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
                for n, (lat, lon) in enumerate(ROUTE):
                    fix = start + timedelta(seconds=60 * n)
                    await terminal.send(0x0200, location_body(lat, lon, bcd(fix), 50.0))
                    assert (await terminal.reply())[0] == 0x8001

                async def all_crossings() -> list[dict]:
                    return (
                        await client.get(
                            "/api/v1/events",
                            headers=headers,
                            params={
                                "device_id": device["id"],
                                "type": CROSSINGS,
                                "from": start.isoformat(),
                            },
                        )
                    ).json()

                async def stored() -> list[dict] | None:
                    events = await all_crossings()
                    return events if len(events) >= 4 else None

                events = await eventually(stored, timeout=10)

                async def delivered() -> bool:
                    return (
                        len(hook.requests) >= 4
                        and len(push.requests) >= 4
                        and len(inbox.messages) >= mailed_before + 4
                    )

                await eventually(delivered, timeout=15)

                # Nothing more may arrive. Proof that the system is done with the four: a
                # fifth crossing (back into the circle), sent after they were delivered, goes
                # the same way behind them (pipeline, dispatcher, each channel's queue in
                # order); once it has arrived everywhere, a second copy of one of the four
                # would have arrived too.
                for n in range(len(ROUTE), len(ROUTE) + 3):
                    fix = start + timedelta(seconds=60 * n)
                    await terminal.send(0x0200, location_body(22.5400, 114.0800, bcd(fix), 50.0))
                    assert (await terminal.reply())[0] == 0x8001
                first = {e["id"] for e in events}

                async def marker_stored() -> dict | None:
                    later = [e for e in await all_crossings() if e["id"] not in first]
                    return later[0] if later else None

                marker = await eventually(marker_stored, timeout=10)
                marker_time = datetime.fromisoformat(marker["time"])

                def mailed_at(message: email.message.EmailMessage) -> datetime | None:
                    when = re.search(r"^When: (\S+)", message.get_content(), re.MULTILINE)
                    return datetime.fromisoformat(when.group(1)) if when else None

                async def marker_delivered() -> bool:
                    return (
                        marker["id"] in {json.loads(r.body)["id"] for r in hook.requests}
                        and marker["id"]
                        in {browser.decrypt(r.body)["event_id"] for r in push.requests}
                        and any(
                            (at := mailed_at(m)) is not None
                            and abs((at - marker_time).total_seconds()) < 1
                            for m in inbox.messages[mailed_before:]
                        )
                    )

                await eventually(marker_delivered, timeout=15)
                after = await all_crossings()
                terminal.close()

            crossings = sorted((e["attributes"]["fence_name"], e["type"]) for e in events)
            assert crossings == [
                ("Customer", "geofence_enter"),
                ("Customer", "geofence_exit"),
                ("Depot", "geofence_enter"),
                ("Depot", "geofence_exit"),
            ]
            assert sorted(e["id"] for e in after) == sorted([*first, marker["id"]]), (
                "each crossing is stored once"
            )
            assert (marker["attributes"]["fence_name"], marker["type"]) == (
                "Customer",
                "geofence_enter",
            )
            notes = (await client.get("/api/v1/notifications", headers=headers)).json()
            assert sorted(n["event_id"] for n in notes) == sorted(e["id"] for e in after)
        # Each of the four crossings, and the fifth, reached every channel exactly once.
        assert len(hook.requests) == 5
        for request in hook.requests:
            signature = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["x-camtel-signature"] == f"sha256={signature}"
        assert sorted(json.loads(r.body)["id"] for r in hook.requests) == sorted(
            e["id"] for e in after
        )
        assert len(push.requests) == 5
        assert sorted(browser.decrypt(r.body)["event_id"] for r in push.requests) == sorted(
            e["id"] for e in after
        )
        mails = inbox.messages[mailed_before:]
        assert len(mails) == 5 and all(m["To"] == "dispatch@example.com" for m in mails)
        assert sorted(mailed_at(m) for m in mails) == sorted(
            datetime.fromisoformat(e["time"]).replace(microsecond=0) for e in after
        )
    finally:
        controller.stop()
        await world.database.dispose()
