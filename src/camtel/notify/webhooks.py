"""The webhook channel: signed JSON POSTs, retried with back-off, logged, disabled when dead.

Each webhook has its own lane (queue and task), so one slow or failing receiver only ever
delays its own deliveries. Retries wait in that lane, which keeps a receiver's events in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.accounts.roles import can_manage_devices
from camtel.db.base import new_id, utcnow
from camtel.db.engine import Database
from camtel.errors import Invalid, NotFound
from camtel.notify import outbound
from camtel.notify.models import Webhook, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Camtel-Signature"


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """How hard camtel tries: per-attempt time-out, attempts per event, back-off, give-up."""

    timeout_s: float = 5.0
    max_attempts: int = 5
    backoff_s: float = 2.0
    backoff_max_s: float = 300.0
    #: Consecutive failed attempts (across events) after which the webhook is disabled.
    disable_after: int = 10
    #: Events waiting per webhook; beyond it new ones are dropped and counted.
    queue_size: int = 1000


def sign(secret: str, body: bytes) -> str:
    """The `X-Camtel-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempt: int, policy: WebhookPolicy) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): doubling, capped."""
    return min(policy.backoff_max_s, policy.backoff_s * 2 ** (attempt - 1))


def succeeded(status: int | None) -> bool:
    """Only a 2xx answer counts; redirects are not followed (they could point inside)."""
    return status is not None and 200 <= status < 300


@dataclass(slots=True)
class Job:
    """One event on its way to one webhook."""

    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    body: bytes
    delivery_id: uuid.UUID = field(default_factory=new_id)
    queued_at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class State:
    """What a lane knows of its webhook; re-read from the database at most every REFRESH_S
    and before every retry, so a deletion or a change in the API takes effect quickly."""

    url: str
    secret: str
    enabled: bool
    failures: int
    read_at: float


@dataclass(slots=True)
class Lane:
    queue: asyncio.Queue[Job]
    task: asyncio.Task[None] | None = None
    state: State | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of the delivery log, waiting for the log writer."""

    job: Job
    attempt: int
    status: int | None
    ok: bool
    error: str
    took: float
    at: datetime
    failures: int
    disable: bool


#: How long a lane trusts what it read of its webhook (seconds).
REFRESH_S = 1.0
#: The delivery log is written in batches at most this often (seconds).
LOG_EVERY_S = 0.05


class WebhookChannel:
    """Delivers events to webhooks; `submit` never waits."""

    def __init__(
        self,
        database: Database,
        *,
        allow_private: bool,
        allow_http: bool = False,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self.database = database
        self.allow_private = allow_private
        self.allow_http = allow_http
        self.policy = policy or WebhookPolicy()
        self._lanes: dict[uuid.UUID, Lane] = {}
        self._http: httpx.AsyncClient | None = None
        self._running = False
        self._log: list[Attempt] = []
        self._log_wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed_attempts = 0
        self.overflow = 0
        #: Seconds from `submit` to a 2xx answer, for the benchmark (bounded).
        self.latencies: list[float] = []

    def submit(
        self, webhook_id: uuid.UUID, event_id: uuid.UUID, event_type: str, body: bytes
    ) -> None:
        """Queue an event for a webhook (drops and counts when that webhook's lane is full)."""
        lane = self._lanes.get(webhook_id)
        if lane is None:
            lane = self._lanes[webhook_id] = Lane(asyncio.Queue(self.policy.queue_size))
        try:
            lane.queue.put_nowait(Job(webhook_id, event_id, event_type, body))
        except asyncio.QueueFull:
            self.overflow += 1
            log.warning(
                "webhook queue full, event dropped",
                extra={"webhook_id": str(webhook_id), "event_id": str(event_id)},
            )
            return
        if self._running and lane.task is None:
            lane.task = asyncio.create_task(self._drain(lane))

    async def start(self) -> None:
        self._running = True
        self._http = outbound.client(self.policy.timeout_s)
        self._writer = asyncio.create_task(self._write_log())
        for lane in self._lanes.values():
            if lane.task is None:
                lane.task = asyncio.create_task(self._drain(lane))

    async def stop(self) -> None:
        self._running = False
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in self._lanes.values():
            lane.task, lane.state = None, None
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self._flush_log()  # what was attempted is logged, even at shutdown
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _drain(self, lane: Lane) -> None:
        while True:
            job = await lane.queue.get()
            try:
                await self._deliver(lane, job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery crashed", extra={"webhook_id": str(job.webhook_id)})

    async def _state(self, lane: Lane, webhook_id: uuid.UUID, *, fresh: bool) -> State | None:
        state = lane.state
        if state is not None and not fresh and time.monotonic() - state.read_at < REFRESH_S:
            return state
        async with self.database.session() as db:
            hook = await db.get(Webhook, webhook_id)
            if hook is None:
                lane.state = None
                return None
            failures = hook.consecutive_failures
            if state is not None and state.enabled and hook.enabled:
                failures = max(failures, state.failures)  # the log writer may lag behind
            lane.state = State(hook.url, hook.secret, hook.enabled, failures, time.monotonic())
        return lane.state

    async def _deliver(self, lane: Lane, job: Job) -> None:
        """Try one event until it is delivered, attempts run out, or the webhook is off."""
        for attempt in range(1, self.policy.max_attempts + 1):
            state = await self._state(lane, job.webhook_id, fresh=attempt > 1)
            if state is None or not state.enabled:
                return
            status, error, took = await self._attempt(job, state.url, state.secret, attempt)
            ok = succeeded(status)
            state.failures = 0 if ok else state.failures + 1
            disable = not ok and state.failures >= self.policy.disable_after
            if disable:
                state.enabled = False
            self._log.append(
                Attempt(job, attempt, status, ok, error, took, utcnow(), state.failures, disable)
            )
            self._log_wake.set()
            if ok:
                self.delivered += 1
                if len(self.latencies) < 1_000_000:
                    self.latencies.append(time.monotonic() - job.queued_at)
                return
            self.failed_attempts += 1
            log.info(
                "webhook attempt failed",
                extra={"webhook_id": str(job.webhook_id), "attempt": attempt, "error": error[:80]},
            )
            if disable:
                log.warning("webhook disabled", extra={"webhook_id": str(job.webhook_id)})
                return
            if attempt < self.policy.max_attempts:
                await asyncio.sleep(backoff(attempt, self.policy))

    async def _attempt(
        self, job: Job, url: str, secret: str, attempt: int
    ) -> tuple[int | None, str, float]:
        assert self._http is not None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "camtel-webhook/1",
            SIGNATURE_HEADER: sign(secret, job.body),
            "X-Camtel-Event": job.event_type,
            "X-Camtel-Delivery": str(job.delivery_id),
            "X-Camtel-Attempt": str(attempt),
        }
        started = time.monotonic()
        try:
            status = await outbound.post(
                self._http,
                url,
                content=job.body,
                headers=headers,
                allow_private=self.allow_private,
                allow_http=self.allow_http,
                timeout_s=self.policy.timeout_s,
            )
            error = "" if succeeded(status) else f"HTTP {status}"
        except outbound.Refused as refused:
            status, error = None, refused.reason
        except TimeoutError:
            status, error = None, "timed out"
        except (httpx.HTTPError, OSError) as exc:
            status, error = None, type(exc).__name__
        return status, error, time.monotonic() - started

    # The delivery log: written in batches, off the lanes' path

    async def _write_log(self) -> None:
        while True:
            await self._log_wake.wait()
            await asyncio.sleep(LOG_EVERY_S)
            self._log_wake.clear()
            try:
                await self._flush_log()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery log not written")

    async def _flush_log(self) -> None:
        entries, self._log = self._log, []
        if not entries:
            return
        async with self.database.session() as db:
            hooks = {
                hook.id: hook
                for hook in await db.scalars(
                    select(Webhook).where(Webhook.id.in_({e.job.webhook_id for e in entries}))
                )
            }
            for entry in entries:
                hook = hooks.get(entry.job.webhook_id)
                if hook is None:  # deleted meanwhile: its log went with it
                    continue
                db.add(
                    WebhookDelivery(
                        webhook_id=entry.job.webhook_id,
                        event_id=entry.job.event_id,
                        delivery_id=entry.job.delivery_id,
                        attempt=entry.attempt,
                        status_code=entry.status,
                        ok=entry.ok,
                        error=entry.error[:200],
                        duration_ms=int(entry.took * 1000),
                        time=entry.at,
                    )
                )
                hook.consecutive_failures = entry.failures
                if entry.disable and hook.enabled:
                    hook.enabled = False
                    hook.disabled_at = entry.at
                    hook.disabled_reason = (
                        f"{entry.failures} consecutive failed deliveries; last: {entry.error}"
                    )[:200]


def event_body(event: dict[str, Any]) -> bytes:
    """The JSON body of a delivery (compact; the signature covers exactly these bytes)."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True, default=str).encode()


# Managing webhooks (the API calls these)


def _managed(caller: Caller) -> list[uuid.UUID]:
    return [org for org, role in caller.roles.items() if can_manage_devices(role)]


async def create(
    db: AsyncSession,
    *,
    caller: Caller,
    url: str,
    events: Sequence[str],
    secret: str,
    allow_private: bool,
    now: datetime,
    organization_id: uuid.UUID | None = None,
    allow_http: bool = False,
) -> Webhook:
    """A webhook for an organisation the caller manages; the URL must reach a public address."""
    if organization_id is None:
        managed = _managed(caller)
        if not managed:
            raise NotFound("you manage no organisation")
        organization_id = min(managed)
    role = caller.role_in(organization_id)
    caller.require(organization_id, can_manage_devices(role), "manage webhooks")
    try:
        await outbound.resolve(url, allow_private=allow_private, allow_http=allow_http)
    except outbound.Refused as refused:
        raise Invalid(refused.reason, field="url") from None
    hook = Webhook(
        organization_id=organization_id,
        created_by=caller.user.id,
        url=url,
        secret=secret,
        events=sorted(set(events)),
        created_at=now,
    )
    db.add(hook)
    await db.flush()
    return hook


async def list_for(db: AsyncSession, *, caller: Caller) -> list[Webhook]:
    """Webhooks of the organisations the caller manages."""
    managed = _managed(caller)
    if not managed:
        return []
    return list(
        await db.scalars(
            select(Webhook).where(Webhook.organization_id.in_(managed)).order_by(Webhook.id)
        )
    )


async def get(db: AsyncSession, *, caller: Caller, webhook_id: uuid.UUID) -> Webhook:
    """One webhook of an organisation the caller manages, or NotFound."""
    hook = await db.get(Webhook, webhook_id)
    if hook is None or hook.organization_id not in _managed(caller):
        raise NotFound("webhook not found")
    return hook


async def deliveries(
    db: AsyncSession,
    *,
    caller: Caller,
    webhook_id: uuid.UUID,
    limit: int,
    before: uuid.UUID | None = None,
) -> list[WebhookDelivery]:
    """A page of a webhook's delivery log, newest first (`limit + 1` rows)."""
    await get(db, caller=caller, webhook_id=webhook_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return list(await db.scalars(query))
