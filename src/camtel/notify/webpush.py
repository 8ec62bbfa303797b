"""The Web Push channel: VAPID-signed (RFC 8292), aes128gcm-encrypted (RFC 8291) messages.

The VAPID key pair is made on first use and kept in `<data_dir>/vapid.pem` (mode 0600);
browsers subscribe with its public key, so it must outlive restarts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.errors import Invalid, NotFound
from camtel.notify import outbound
from camtel.notify.models import PushSubscription

log = logging.getLogger(__name__)

KEY_FILE = "vapid.pem"
#: How long a push service keeps an undelivered message (seconds).
TTL_S = 24 * 3600
#: A subscription failing this many times in a row (not 404/410, which end it at once) goes.
DROP_AFTER = 10
WORKERS = 4


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The VAPID private key at `path`, made (P-256, file mode 0600) when missing."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return load_or_create_key(path)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    log.info("VAPID key pair created")
    return key


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as browsers want it for `applicationServerKey`: base64url, uncompressed."""
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def audience(endpoint: str) -> str:
    """The JWT `aud` claim: the push service's origin."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class PushJob:
    user_id: uuid.UUID
    payload: dict[str, Any]
    urgent: bool
    queued_at: float


class WebPushChannel:
    """Sends push messages to every browser a person subscribed; `submit` never waits."""

    def __init__(
        self,
        database: Database,
        *,
        key_path: Path,
        subject: str,
        allow_private: bool,
        timeout_s: float = 10.0,
        queue_size: int = 10_000,
    ) -> None:
        self.database = database
        self.key_path = key_path
        self.subject = subject
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self._queue: asyncio.Queue[PushJob] = asyncio.Queue(queue_size)
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None
        self.sent = 0
        self.overflow = 0

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            self._key = load_or_create_key(self.key_path)
        return self._key

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key)

    def submit(self, user_id: uuid.UUID, payload: dict[str, Any], *, urgent: bool) -> None:
        try:
            self._queue.put_nowait(PushJob(user_id, payload, urgent, time.monotonic()))
        except asyncio.QueueFull:
            self.overflow += 1
            log.warning("push queue full, message dropped", extra={"user_id": str(user_id)})

    async def start(self) -> None:
        _ = self.key  # made on first start, so browsers can subscribe at once
        self._http = outbound.client(self.timeout_s)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(WORKERS)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._send_all(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push delivery crashed")

    async def _send_all(self, job: PushJob) -> None:
        # No session is held while push services answer: a slow one must not pin the database.
        async with self.database.session() as db:
            targets = list(
                await db.execute(
                    select(
                        PushSubscription.id,
                        PushSubscription.endpoint,
                        PushSubscription.p256dh,
                        PushSubscription.auth,
                    ).where(PushSubscription.user_id == job.user_id)
                )
            )
        data = json.dumps(job.payload, separators=(",", ":")).encode()
        results = [
            (row.id, await self._send(row.endpoint, row.p256dh, row.auth, data, urgent=job.urgent))
            for row in targets
        ]
        if not results:
            return
        async with self.database.session() as db:
            for subscription_id, status in results:
                subscription = await db.get(PushSubscription, subscription_id)
                if subscription is None:
                    continue
                if status in (404, 410):  # the browser unsubscribed: forget it
                    await db.delete(subscription)
                elif status is not None and 200 <= status < 300:
                    subscription.failures, subscription.last_success_at = 0, utcnow()
                    self.sent += 1
                else:
                    subscription.failures += 1
                    if subscription.failures >= DROP_AFTER:
                        await db.delete(subscription)

    async def _send(
        self, endpoint: str, p256dh: str, auth: str, data: bytes, *, urgent: bool
    ) -> int | None:
        """POST one encrypted message; the status code, or None when it did not get through."""
        assert self._http is not None
        info = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        try:
            body = WebPusher(info).encode(data, "aes128gcm")["body"]
        except (WebPushException, ValueError) as exc:
            log.warning("push subscription unusable", extra={"error": type(exc).__name__})
            return None
        claims = {
            "aud": audience(endpoint),
            "exp": int(time.time()) + 12 * 3600,
            "sub": self.subject,
        }
        headers = {
            **Vapid02(self.key).sign(claims),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_S),
            "Urgency": "high" if urgent else "normal",
        }
        try:
            return await outbound.post(
                self._http,
                endpoint,
                content=body,
                headers=headers,
                allow_private=self.allow_private,
                timeout_s=self.timeout_s,
            )
        except outbound.Refused as refused:
            log.warning("push endpoint refused", extra={"reason": refused.reason})
        except TimeoutError:
            log.warning("push endpoint timed out")
        except (httpx.HTTPError, OSError) as exc:
            log.warning("push endpoint failed", extra={"error": type(exc).__name__})
        return None


# Subscriptions (the API calls these)


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
        secret = base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4))
    except ValueError:
        raise Invalid("keys must be base64url", field="keys") from None
    if len(point) != 65 or point[0] != 4:
        raise Invalid("p256dh must be an uncompressed P-256 point", field="keys.p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise Invalid("p256dh is not a point on P-256", field="keys.p256dh") from None
    if len(secret) != 16:
        raise Invalid("auth must be 16 bytes", field="keys.auth")


async def subscribe(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    endpoint: str,
    p256dh: str,
    auth: str,
    allow_private: bool,
    now: datetime,
) -> PushSubscription:
    """Store a browser's subscription (the same endpoint again replaces its keys and owner)."""
    _check_keys(p256dh, auth)
    try:
        await outbound.resolve(endpoint, allow_private=allow_private)
    except outbound.Refused as refused:
        raise Invalid(refused.reason, field="endpoint") from None
    if not allow_private and not endpoint.startswith("https://"):
        raise Invalid("push endpoints use https", field="endpoint")
    found = await db.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if found is None:
        found = PushSubscription(user_id=user_id, endpoint=endpoint, created_at=now)
        db.add(found)
    found.user_id, found.p256dh, found.auth, found.failures = user_id, p256dh, auth, 0
    await db.flush()
    return found


async def list_for(db: AsyncSession, *, user_id: uuid.UUID) -> list[PushSubscription]:
    return list(
        await db.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.id)
        )
    )


async def unsubscribe(db: AsyncSession, *, user_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
    """Forget one of the caller's browsers."""
    result = await db.execute(
        delete(PushSubscription).where(
            PushSubscription.id == subscription_id, PushSubscription.user_id == user_id
        )
    )
    if not cast(CursorResult[Any], result).rowcount:
        raise NotFound("push subscription not found")
