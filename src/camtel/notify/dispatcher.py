"""The dispatcher: stored events in, notifications out, without ever holding up the pipeline.

`events_stored` only enqueues. One router task takes events in batches, looks up the rules
and webhooks of their organisations (one query each per batch), decides with `rules.route`,
writes inbox rows and outbox mail in one transaction, and hands Web Push and webhooks to
their own queues and tasks. Every queue is bounded; overflow is counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from camtel.accounts.models import Membership, User
from camtel.accounts.roles import Role, sees_all_devices
from camtel.bus.live import LiveHub
from camtel.config import Settings
from camtel.db.base import new_id, utcnow
from camtel.db.engine import Database
from camtel.devices.models import Device
from camtel.events.models import Event
from camtel.mail.outbox import Mailer
from camtel.notify import inbox, rules
from camtel.notify.email_channel import EmailChannel
from camtel.notify.models import InboxItem, NotificationRule, Webhook
from camtel.notify.webhooks import WebhookChannel, WebhookPolicy, event_body
from camtel.notify.webpush import KEY_FILE, WebPushChannel

log = logging.getLogger(__name__)

#: Warn about dropped events at most this often (seconds).
WARN_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event, as the dispatcher needs it (built from an `Event` row after commit)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    device_id: uuid.UUID
    type: str
    time: datetime
    urgent: bool = False
    latitude: float | None = None
    longitude: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    device_name: str = ""

    @classmethod
    def from_event(cls, event: Event, device_name: str = "") -> EventRecord:
        return cls(
            id=event.id,
            organization_id=event.organization_id,
            device_id=event.device_id,
            type=event.type,
            time=event.time,
            urgent=event.urgent,
            latitude=event.latitude,
            longitude=event.longitude,
            attributes=MappingProxyType(dict(event.attributes or {})),
            device_name=device_name,
        )

    def as_json(self, device_name: str = "") -> dict[str, Any]:
        """The event as webhooks receive it."""
        return {
            "id": str(self.id),
            "type": self.type,
            "time": self.time.isoformat(),
            "device_id": str(self.device_id),
            "device_name": device_name or self.device_name,
            "organization_id": str(self.organization_id),
            "urgent": self.urgent,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "attributes": dict(self.attributes),
        }


@dataclass(slots=True)
class _Listener:
    """A rule owner's facts for routing: role per organisation, address for mail."""

    sees_all: dict[uuid.UUID, bool]
    email: str | None


class Dispatcher:
    """Matches stored events to per-person rules and organisation webhooks, fans out."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        mailer: Mailer,
        live: LiveHub,
        queue_size: int = 100_000,
        batch_size: int = 500,
        webhook_policy: WebhookPolicy | None = None,
    ) -> None:
        self.database = database
        self.live = live
        self.batch_size = batch_size
        self._intake: asyncio.Queue[EventRecord] = asyncio.Queue(queue_size)
        self.email = EmailChannel(mailer, base_url=settings.base_url)
        self.webpush = WebPushChannel(
            database,
            key_path=settings.data_dir / KEY_FILE,
            subject=_vapid_subject(settings),
            allow_private=settings.webhook_allow_private,
        )
        self.webhooks = WebhookChannel(
            database,
            allow_private=settings.webhook_allow_private,
            allow_http=settings.webhook_allow_http,
            policy=webhook_policy,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._router: asyncio.Task[None] | None = None
        self._stopping = False
        self.received = 0
        self.overflow = 0
        self.notified = 0
        self._last_warning = 0.0
        self._busy = False
        #: When each queued event arrived (monotonic seconds), for latency figures.
        self._arrived: dict[uuid.UUID, float] = {}
        #: Seconds from `events_stored` to the inbox row's commit, for the benchmark (bounded).
        self.inbox_latencies: list[float] = []

    # The pipeline's side

    def events_stored(self, events: Sequence[EventRecord | Event]) -> None:
        """Hand over events just committed; returns at once (call it from any thread)."""
        if not events:
            return
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._enqueue, list(events), time.monotonic())
            return
        self._enqueue(events, time.monotonic())

    def _enqueue(self, events: Sequence[EventRecord | Event], at: float) -> None:
        dropped = 0
        for event in events:
            record = event if isinstance(event, EventRecord) else EventRecord.from_event(event)
            try:
                self._intake.put_nowait(record)
            except asyncio.QueueFull:
                dropped += 1
                continue
            self._arrived[record.id] = at
        self.received += len(events) - dropped
        if dropped:
            self.overflow += dropped
            now = time.monotonic()
            if now - self._last_warning >= WARN_EVERY_S:
                self._last_warning = now
                log.warning(
                    "notification queue full, events dropped",
                    extra={"dropped_total": self.overflow, "queue_size": self._intake.maxsize},
                )

    # Running

    async def run(self) -> None:
        """Route events until `stop()`; starts and stops the channels' own tasks."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._stopping = False
        await self.webpush.start()
        await self.webhooks.start()
        await self.email.start()
        self._router = asyncio.current_task()
        try:
            while not self._stopping:
                batch = await self._take_batch()
                try:
                    await self._route(batch)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("notification routing failed", extra={"events": len(batch)})
        except asyncio.CancelledError:
            pass
        finally:
            await self.email.stop()
            await self.webhooks.stop()
            await self.webpush.stop()

    async def stop(self) -> None:
        """Stop routing and the channels (events still queued are not sent)."""
        self._stopping = True
        if self._router is not None and not self._router.done():
            self._router.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._router
        self._router = None

    async def idle(self, timeout_s: float = 10.0) -> None:
        """Wait until the router has routed everything queued so far (tests, benchmark)."""
        deadline = time.monotonic() + timeout_s
        while not self._intake.empty() or self._busy:
            if time.monotonic() > deadline:
                raise TimeoutError("the dispatcher is still busy")
            await asyncio.sleep(0.01)

    async def _take_batch(self) -> list[EventRecord]:
        first = await self._intake.get()
        self._busy = True
        batch = [first]
        while len(batch) < self.batch_size and not self._intake.empty():
            batch.append(self._intake.get_nowait())
        return batch

    # Routing

    async def _route(self, batch: list[EventRecord]) -> None:
        try:
            await self._route_batch(batch)
        finally:
            for record in batch:
                self._arrived.pop(record.id, None)
            self._busy = False

    async def _route_batch(self, batch: list[EventRecord]) -> None:
        batch.sort(key=lambda r: not r.urgent)  # urgent first; sort is stable otherwise
        orgs = {r.organization_id for r in batch}
        async with self.database.session() as db:
            rows = (
                await db.execute(
                    select(NotificationRule, Membership.organization_id, Membership.role, User)
                    .join(Membership, Membership.user_id == NotificationRule.user_id)
                    .join(User, User.id == NotificationRule.user_id)
                    .where(Membership.organization_id.in_(orgs), NotificationRule.enabled)
                )
            ).all()
            hooks = (
                await db.execute(
                    select(Webhook.id, Webhook.organization_id, Webhook.events).where(
                        Webhook.organization_id.in_(orgs), Webhook.enabled
                    )
                )
            ).all()
            if not rows and not hooks:
                return
            device_ids = {r.device_id for r in batch}
            devices = {
                d.id: (d.name, d.driver_id)
                for d in await db.execute(
                    select(Device.id, Device.name, Device.driver_id).where(
                        Device.id.in_(device_ids)
                    )
                )
            }
            rules_by_org, listeners = _gather(rows)
            inbox_rows: list[dict[str, Any]] = []
            pushes: list[tuple[uuid.UUID, dict[str, Any], bool]] = []
            mailed = False
            now_s = time.monotonic()
            for record in batch:
                name, driver_id = devices.get(record.device_id, (record.device_name, None))
                for hook in hooks:
                    if hook.organization_id == record.organization_id and rules.webhook_wants(
                        hook.events, record.type
                    ):
                        self.webhooks.submit(
                            hook.id, record.id, record.type, event_body(record.as_json(name))
                        )
                org_rules = rules_by_org.get(record.organization_id)
                if not org_rules:
                    continue
                allowed = rules.audience(
                    {
                        user: facts.sees_all[record.organization_id]
                        for user, facts in listeners.items()
                        if record.organization_id in facts.sees_all
                    },
                    driver_id=driver_id,
                )
                happening = rules.Happening(
                    record.type, record.device_id, record.urgent, record.time
                )
                chosen = rules.route(org_rules, happening, audience=allowed)
                if not chosen:
                    continue
                heading = inbox.title(record.type, name, record.attributes)
                for user_id, channels in chosen.items():
                    self.notified += 1
                    if "inbox" in channels:
                        inbox_rows.append(_inbox_row(user_id, record, heading))
                    address = listeners[user_id].email
                    if "email" in channels and address:
                        mailed |= self.email.queue(
                            db,
                            user_id=user_id,
                            address=address,
                            title=heading,
                            time=record.time,
                            urgent=record.urgent,
                            now_s=now_s,
                        )
                    if "webpush" in channels:
                        pushes.append((user_id, _push_payload(record, heading), record.urgent))
            new_ids = set(await inbox.add(db, inbox_rows))
        # Committed: now tell the live viewers, the mailer and the push workers.
        done = time.monotonic()
        stored = [InboxItem(**row) for row in inbox_rows if row["id"] in new_ids]
        inbox.publish(self.live, stored)
        for item in stored:
            arrived = self._arrived.get(item.event_id)
            if arrived is not None and len(self.inbox_latencies) < 1_000_000:
                self.inbox_latencies.append(done - arrived)
        if mailed:
            self.email.kick()
        for user_id, payload, urgent in pushes:
            self.webpush.submit(user_id, payload, urgent=urgent)


def _gather(
    rows: Sequence[Any],
) -> tuple[dict[uuid.UUID, list[rules.Rule]], dict[uuid.UUID, _Listener]]:
    """Pure rules per organisation and facts per rule owner, from the joined rows."""
    by_org: dict[uuid.UUID, list[rules.Rule]] = {}
    listeners: dict[uuid.UUID, _Listener] = {}
    for stored, org, role, user in rows:
        facts = listeners.setdefault(
            user.id, _Listener({}, user.email if user.email_verified_at else None)
        )
        facts.sees_all[org] = sees_all_devices(Role(role))
        try:
            quiet = rules.quiet_hours(stored.quiet_start, stored.quiet_end, stored.time_zone)
        except ValueError:
            quiet = None  # the API validates; a rule broken later still notifies
        device_ids = frozenset(uuid.UUID(d) for d in stored.device_ids or ())
        by_org.setdefault(org, []).append(
            rules.Rule(
                user_id=user.id,
                channels=frozenset(stored.channels or ()),
                event_types=frozenset(stored.event_types or ()),
                device_ids=device_ids,
                quiet=quiet,
            )
        )
    return by_org, listeners


def _inbox_row(user_id: uuid.UUID, record: EventRecord, heading: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "user_id": user_id,
        "event_id": record.id,
        "device_id": record.device_id,
        "type": record.type,
        "title": heading,
        "urgent": record.urgent,
        "time": record.time,
        "created_at": utcnow(),
        "read_at": None,
    }


def _push_payload(record: EventRecord, heading: str) -> dict[str, Any]:
    # No coordinates: push messages pass through the browser vendor's servers.
    return {
        "title": heading,
        "event_id": str(record.id),
        "device_id": str(record.device_id),
        "type": record.type,
        "urgent": record.urgent,
        "time": record.time.isoformat(),
        "url": "/app",
    }


def _vapid_subject(settings: Settings) -> str:
    """The VAPID `sub` claim: a contact for push services (an https URL or mailto:)."""
    if settings.base_url.startswith("https://"):
        return settings.base_url
    return "mailto:operator@camtel.invalid"
