"""Notification latency: from `Dispatcher.events_stored()` to the inbox row and to the webhook.

One process, one event loop (uvloop when installed): the dispatcher, a local webhook receiver
(uvicorn on loopback) and a load generator. Matching events (a rule with the inbox channel,
and a webhook subscribed to their type) are handed over at `--rate` per second while the
load generator hands over `--background` events per second that no rule or webhook matches
(another organisation), as the pipeline would after each commit. Inbox latency ends when the
inbox row is committed; webhook latency when the receiver has the request. The receiver and
load share the loop with camtel, so the figures include that contention.

    .venv/bin/python bench/notify_latency.py --events 1000 --rate 50 --background 0,10000
    .venv/bin/python bench/notify_latency.py --database-url postgresql://postgres@127.0.0.1/x
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace, background: int, data_dir: Path) -> dict:
    from camtel.accounts.models import Membership, Organization, User
    from camtel.config import Settings
    from camtel.db import migrate
    from camtel.db.base import utcnow
    from camtel.devices.models import Device
    from camtel.events.models import Event
    from camtel.notify.dispatcher import EventRecord
    from camtel.notify.models import NotificationRule, Webhook
    from camtel.services import Services
    from helpers.notify import Receiver, serve

    settings = Settings(
        data_dir=data_dir,
        database_url=args.database_url,
        webhook_allow_private=True,
        log_level="WARNING",
    )
    migrate.upgrade(settings.sqlalchemy_url)
    services = Services.build(settings)
    dispatcher = services.dispatcher
    assert dispatcher is not None
    sent_at: dict[str, float] = {}
    async with serve(Receiver()) as receiver:
        async with services.database.session() as db:
            watched, quiet = Organization(name="watched"), Organization(name="quiet")
            db.add_all([watched, quiet])
            await db.flush()
            user = User(
                email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                phone="+491",
                password_hash="x",  # noqa: S106 - a placeholder, nobody signs in
                email_verified_at=utcnow(),
            )
            db.add(user)
            await db.flush()
            db.add(Membership(user_id=user.id, organization_id=watched.id, role="owner"))
            van = Device(
                organization_id=watched.id,
                name="Van",
                protocol="osmand",
                unique_id=uuid.uuid4().hex[:12],
            )
            other = Device(
                organization_id=quiet.id,
                name="Other",
                protocol="osmand",
                unique_id=uuid.uuid4().hex[:12],
            )
            db.add_all([van, other])
            await db.flush()
            db.add(
                NotificationRule(user_id=user.id, channels=["inbox"], event_types=["geofence_exit"])
            )
            db.add(
                Webhook(
                    organization_id=watched.id,
                    url=receiver.url,
                    secret="s" * 32,
                    events=["geofence_exit"],
                )
            )
            events = [
                Event(
                    organization_id=watched.id,
                    device_id=van.id,
                    type="geofence_exit",
                    time=utcnow(),
                    cause=f"bench:{i}:{uuid.uuid4()}",
                    attributes={},
                    created_at=utcnow(),
                )
                for i in range(args.events)
            ]
            db.add_all(events)
        records = [EventRecord.from_event(e) for e in events]
        noise = EventRecord(
            id=uuid.uuid4(),
            organization_id=quiet.id,
            device_id=other.id,
            type="motion_start",
            time=utcnow(),
        )
        runner = asyncio.create_task(dispatcher.run())
        stop = asyncio.Event()

        async def load() -> int:
            # In slices of 10 ms, as a pipeline committing batches would call.
            handed, started, per_slice = 0, time.monotonic(), background / 100
            while not stop.is_set():
                due = int((time.monotonic() - started) * background) - handed
                if due > 0:
                    dispatcher.events_stored([noise] * due)
                    handed += due
                await asyncio.sleep(0.01)
            return handed if per_slice else 0

        loader = asyncio.create_task(load()) if background else None
        await asyncio.sleep(0.5)  # let the load settle
        for record in records:
            sent_at[str(record.id)] = time.monotonic()
            dispatcher.events_stored([record])
            await asyncio.sleep(1 / args.rate)
        deadline = time.monotonic() + 30
        while len(receiver.requests) < len(records) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        stop.set()
        handed = await loader if loader else 0
        await dispatcher.stop()
        await runner
    webhook = [r.at - sent_at[json.loads(r.body)["id"]] for r in receiver.requests]
    inbox = list(dispatcher.inbox_latencies)
    await services.database.dispose()
    return {
        "background": background,
        "handed": handed,
        "overflow": dispatcher.overflow,
        "inbox": inbox,
        "webhook": webhook,
        "events": len(records),
    }


def _row(name: str, result: dict, values: list[float]) -> str:
    if not values:
        return f"| {result['background']:,} | {name} | 0/{result['events']} | - | - | - |"
    ms = [v * 1000 for v in values]
    return (
        f"| {result['background']:,} | {name} | {len(values)}/{result['events']} "
        f"| {statistics.median(ms):.1f} | {_percentile(ms, 0.99):.1f} | {max(ms):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="matching events")
    parser.add_argument("--rate", type=float, default=50, help="matching events per second")
    parser.add_argument(
        "--background",
        default="0,10000",
        help="comma-separated background loads, events/s that match nothing",
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"events_stored() -> inbox row committed / webhook received; {engine}; "
        f"{args.events} matching events at {args.rate:g}/s\n"
    )
    print("| background events/s | channel | delivered | median ms | p99 ms | max ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for background in [int(b) for b in args.background.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(_run(args, background, Path(tmp)))
        print(_row("inbox", result, result["inbox"]))
        print(_row("webhook", result, result["webhook"]))
        if background:
            print(
                f"|  | (background handed: {result['handed']:,}, "
                f"dropped: {result['overflow']:,}) | | | | |"
            )


if __name__ == "__main__":
    main()
