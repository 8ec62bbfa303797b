"""Which device a protocol identity names: cached lookups; strangers go to the pending list."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.devices import service
from camtel.devices.identity import unique_id_problem
from camtel.devices.models import Device
from camtel.gateways.names import label
from camtel.privacy import consent
from camtel.privacy.minors import Kind, collection_allowed

log = logging.getLogger(__name__)

#: Cached identities kept at most; past it, expired ones go, then all (a flood of made-up ids).
MAX_CACHED = 100_000


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What a gateway needs to know about a registered device."""

    id: uuid.UUID
    protocol: str
    unique_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    #: False while the person this device tracks may not have their location collected
    #: (a minor without a guardian's consent, an erasure under way, or a driver who objects
    #: to sharing their location with their organisation): positions are then acknowledged
    #: but not stored.
    collect_location: bool = True


async def may_collect_location(db: AsyncSession, device: Device) -> bool:
    """Whether positions of this device may be stored now: the minors' gate and an erasure
    (`collection_allowed`), then the driver's share_location_with_organisation objection."""
    subject = await tracked_person(db, device)
    if subject is None:
        return True
    if not await collection_allowed(db, subject, Kind.LOCATION):
        return False
    return await consent.location_shared_allowed(db, subject, device.organization_id)


async def tracked_person(db: AsyncSession, device: Device) -> uuid.UUID | None:
    """Whose location a device collects: its driver, else the only member of an organisation
    that is one person's (their own car); None for a fleet vehicle with no driver."""
    if device.driver_id is not None:
        return device.driver_id
    members = list(
        await db.scalars(
            select(Membership.user_id)
            .where(Membership.organization_id == device.organization_id)
            .limit(2)
        )
    )
    return members[0] if len(members) == 1 else None


class Registry:
    """Resolve (protocol, unique_id) to a device, caching answers for a short while.

    A registered device is cached for `ttl_s`; an unknown one for `unknown_ttl_s`, and it
    is noted in the pending list once per lookup that reaches the database, so that a chatty
    unknown device costs one write per `unknown_ttl_s`, not one per message.
    """

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        ttl_s: float = 60.0,
        unknown_ttl_s: float = 10.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.ttl_s = ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self.counters: Counter[str] = Counter()
        self._cache: dict[tuple[str, str], tuple[float, DeviceRef | None]] = {}

    async def resolve(self, protocol: str, unique_id: str) -> DeviceRef | None:
        """The registered device, or None (and the pending list is told)."""
        key = (protocol, unique_id)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            self.counters["cache_hits"] += 1
            return cached[1]
        if unique_id_problem(protocol, unique_id) is not None:
            self.counters["malformed_ids"] += 1
            return None
        ref = await self._load(protocol, unique_id)
        self._remember(key, ref, now)
        return ref

    def forget(self, protocol: str, unique_id: str) -> None:
        """Drop a cached answer (a device was registered or deleted)."""
        self._cache.pop((protocol, unique_id), None)

    async def _load(self, protocol: str, unique_id: str) -> DeviceRef | None:
        self.counters["lookups"] += 1
        try:
            async with self.database.session() as db:
                device = await db.scalar(
                    select(Device).where(Device.protocol == protocol, Device.unique_id == unique_id)
                )
                if device is not None:
                    allowed = await may_collect_location(db, device)
                    return DeviceRef(
                        device.id, protocol, unique_id, dict(device.attributes), allowed
                    )
                await service.note_pending(
                    db, protocol=protocol, unique_id=unique_id, now=self.clock()
                )
        except IntegrityError:
            pass  # two connections noted the same stranger at once; one row is enough
        self.counters["unknown"] += 1
        log.info("unknown %s device %s noted as pending", protocol, label(unique_id))
        return None

    def _remember(self, key: tuple[str, str], ref: DeviceRef | None, now: float) -> None:
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
        ttl = self.ttl_s if ref is not None else self.unknown_ttl_s
        self._cache[key] = (now + ttl, ref)
