"""Webhooks that fail, hang or point inside are retried, logged, disabled or refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

from sqlalchemy import select

from camtel.notify.dispatcher import Dispatcher
from camtel.notify.models import Webhook, WebhookDelivery
from camtel.notify.webhooks import WebhookPolicy, backoff, sign
from helpers.notify import Receiver, eventually, make_world, running, serve, store_event

FAST = WebhookPolicy(timeout_s=0.3, max_attempts=3, backoff_s=0.05, disable_after=3)


def test_signature_and_backoff_are_as_documented():
    assert sign("key", b"{}") == "sha256=" + hmac.new(b"key", b"{}", hashlib.sha256).hexdigest()
    policy = WebhookPolicy(backoff_s=2, backoff_max_s=60)
    assert [backoff(n, policy) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def _dispatcher(services, policy=FAST, **settings) -> Dispatcher:  # type: ignore[no-untyped-def]
    return Dispatcher(
        settings=services.settings.model_copy(update=settings),
        database=services.database,
        mailer=services.mailer,
        live=services.live,
        webhook_policy=policy,
    )


async def _setup(services, url: str):  # type: ignore[no-untyped-def]
    world = await make_world(services)
    async with services.database.session() as db:
        hook = Webhook(organization_id=world.org, url=url, secret="x" * 16, events=["*"])
        db.add(hook)
    return world, hook.id


async def _log(services, hook_id):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        hook = await db.get(Webhook, hook_id)
        rows = list(
            await db.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == hook_id)
                .order_by(WebhookDelivery.attempt)
            )
        )
    return hook, rows


async def _until_disabled(services, hook_id, timeout=8.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hook, rows = await _log(services, hook_id)
        if not hook.enabled:
            return hook, rows
        await asyncio.sleep(0.05)
    raise AssertionError("the webhook was not disabled")


async def test_a_webhook_answering_500_is_retried_then_disabled(services):
    async with serve(Receiver(status=500)) as receiver:
        world, hook_id = await _setup(services, receiver.url)
        policy = WebhookPolicy(timeout_s=0.3, max_attempts=3, backoff_s=0.2, disable_after=3)
        async with running(_dispatcher(services, policy, webhook_allow_private=True)) as d:
            d.events_stored([await store_event(services, world)])
            hook, rows = await _until_disabled(services, hook_id)
    assert [(r.attempt, r.status_code, r.ok, r.error) for r in rows] == [
        (1, 500, False, "HTTP 500"),
        (2, 500, False, "HTTP 500"),
        (3, 500, False, "HTTP 500"),
    ]
    assert len({r.delivery_id for r in rows}) == 1, "one delivery id across retries"
    assert [r.headers["x-camtel-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    # Lower bounds only: a loaded machine may add to a gap, never take from it.
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, f"back-off doubles: 0.2 s, 0.4 s; {gaps}"
    assert hook.consecutive_failures == 3 and "HTTP 500" in hook.disabled_reason


async def test_a_slow_webhook_times_out_and_does_not_hold_up_others(services):
    async with serve(Receiver(delay_s=2.0)) as slow, serve(Receiver()) as quick:
        world, slow_id = await _setup(services, slow.url)
        async with services.database.session() as db:
            db.add(Webhook(organization_id=world.org, url=quick.url, secret="y" * 16, events=["*"]))
        async with running(_dispatcher(services, webhook_allow_private=True)) as dispatcher:
            started = time.monotonic()
            for _ in range(3):
                dispatcher.events_stored([await store_event(services, world)])
            while len(quick.requests) < 3:
                await asyncio.sleep(0.02)
            # Held up behind the slow one, the quick receiver's first delivery would wait for
            # the slow one's three attempts (3 x 0.3 s time-outs and the back-offs: over a
            # second); side by side it comes at once. (Its third may come later on a loaded
            # machine, which is why the first is the one compared.)
            assert quick.requests[0].at - started < 1.0, "the quick receiver is not held up"
            _hook, rows = await _until_disabled(services, slow_id)
    assert {r.error for r in rows} == {"timed out"}
    assert all(r.duration_ms < 1000 for r in rows)


async def test_delivery_rechecks_the_address_so_rebinding_cannot_reach_inside(services):
    """The webhook was accepted (say, the name resolved to a public address then); at
    delivery it resolves to loopback, and camtel refuses to connect."""
    async with serve(Receiver()) as receiver:
        world, hook_id = await _setup(services, receiver.url)
        async with running(_dispatcher(services, webhook_allow_private=False)) as dispatcher:
            dispatcher.events_stored([await store_event(services, world)])
            _hook, rows = await _until_disabled(services, hook_id)
    assert receiver.requests == []
    assert rows and all(r.status_code is None for r in rows)
    assert "loopback" in rows[0].error


async def test_a_deleted_webhook_gets_nothing_more(services):
    async with serve(Receiver(status=503)) as receiver:
        world, hook_id = await _setup(services, receiver.url)
        policy = WebhookPolicy(timeout_s=0.3, max_attempts=5, backoff_s=0.3, disable_after=50)
        async with running(_dispatcher(services, policy, webhook_allow_private=True)) as d:
            d.events_stored([await store_event(services, world)])
            await asyncio.wait_for(receiver.arrived.wait(), 5)
            lane = d.webhooks._lanes[hook_id]
            assert lane.state is not None, "the lane has read its webhook for attempt 1"
            async with services.database.session() as db:
                await db.delete(await db.get(Webhook, hook_id))

            # Before its retry the lane reads its webhook again (fresh) and, finding it gone,
            # forgets it (state None) and drops the event: wait for that, not for a while.
            async def retry_found_it_gone() -> bool:
                return lane.state is None and lane.queue.empty()

            await eventually(retry_found_it_gone, timeout=5)
    assert len(receiver.requests) == 1
