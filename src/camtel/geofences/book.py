"""The pipeline's copy of fences and of what it needs about devices, cached and refreshed.

Stages run synchronously, one fix at a time, so they never wait on the database: they ask
`view(device_id)` and get what is cached. `warm()` at start loads every device and fence;
after that a miss (a device registered by another process) or an entry older than `ttl_s`
schedules a load in the background, and a miss skips fence checks for that fix only.
`fences_changed(organization_id)` (called by the API after
a fence is created, changed or deleted) reloads an organisation's fences at once; the TTL
catches changes made by other processes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.engine import Database
from camtel.devices.models import Device
from camtel.events.models import Event
from camtel.geofences import geometry
from camtel.geofences.matcher import FenceIndex
from camtel.geofences.models import Geofence
from camtel.geofences.service import organization_fences

log = logging.getLogger(__name__)

TTL_S = 60.0


@dataclass(frozen=True, slots=True)
class Rule:
    """What the pipeline needs to know about one fence besides its shape."""

    id: uuid.UUID
    name: str
    kind: str
    speed_limit_kmh: float | None
    schedule: dict[str, Any] | None
    breach_on: str | None
    device_ids: frozenset[uuid.UUID]
    group_ids: frozenset[uuid.UUID]
    #: Small fences cannot be crossed "by 20 m": cap the hysteresis margin to their size.
    margin_cap_m: float | None

    def applies_to(self, device_id: uuid.UUID, group_id: uuid.UUID | None) -> bool:
        """Fences without links watch every device of their organisation."""
        if not self.device_ids and not self.group_ids:
            return True
        return device_id in self.device_ids or (group_id is not None and group_id in self.group_ids)


@dataclass(frozen=True, slots=True)
class OrgFences:
    """Every fence of one organisation: rules in the same order as the index's shapes."""

    rules: tuple[Rule, ...]
    index: FenceIndex
    loaded_at: float
    by_id: dict[uuid.UUID, Rule]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One device as the event stages see it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    group_id: uuid.UUID | None
    protocol: str
    unique_id: str
    speed_limit_kmh: float | None
    #: Fences the device was inside by its newest stored enter/exit (so a restart does not
    #: announce every parked car as entering its depot again).
    inside: frozenset[uuid.UUID]
    loaded_at: float


def _speed_limit(attributes: dict[str, Any]) -> float | None:
    value = attributes.get("speed_limit_kmh")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def compile_fences(rows: list[dict[str, Any]], loaded_at: float) -> OrgFences:
    """Build the rules and the spatial index (CPU work: run it in a thread)."""
    rules, shapes = [], []
    for row in rows:
        try:
            shape = geometry.from_stored(
                row["kind"], row["geometry"], row["radius_m"], row["width_m"]
            )
        except Exception:  # one broken row must not blind the organisation's other fences
            log.exception("geofence could not be compiled; skipped")
            continue
        cap = None
        if shape.kind == "circle" and shape.radius_m is not None:
            cap = shape.radius_m / 2
        elif shape.kind == "corridor" and shape.width_m is not None:
            cap = shape.width_m / 4
        rules.append(
            Rule(
                id=row["id"],
                name=row["name"],
                kind=row["kind"],
                speed_limit_kmh=row["speed_limit_kmh"],
                schedule=row["schedule"],
                breach_on=row["breach_on"],
                device_ids=frozenset(row["device_ids"]),
                group_ids=frozenset(row["group_ids"]),
                margin_cap_m=cap,
            )
        )
        shapes.append(shape)
    return OrgFences(tuple(rules), FenceIndex(shapes), loaded_at, {r.id: r for r in rules})


class FenceBook:
    """Fences per organisation and event-relevant facts per device, for the pipeline."""

    def __init__(
        self,
        database: Database,
        *,
        ttl_s: float = TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self.devices: dict[uuid.UUID, DeviceInfo] = {}
        self.organizations: dict[uuid.UUID, OrgFences] = {}
        self._tasks: dict[tuple[Hashable, ...], asyncio.Task[None]] = {}
        self._again: set[tuple[Hashable, ...]] = set()

    # What the stages call (synchronously)

    def view(self, device_id: uuid.UUID) -> tuple[DeviceInfo, OrgFences] | None:
        """The device and its organisation's fences, or None while they are being loaded."""
        now = self.monotonic()
        info = self.devices.get(device_id)
        if info is None or now - info.loaded_at > self.ttl_s:
            self._schedule(("device", device_id), lambda: self.load_device(device_id))
        if info is None:
            return None
        org = self.organizations.get(info.organization_id)
        if org is None or now - org.loaded_at > self.ttl_s:
            organization_id = info.organization_id
            self._schedule(
                ("org", organization_id), lambda: self.load_organization(organization_id)
            )
        if org is None:
            return None
        return info, org

    # Hooks for the API and the device registry

    def fences_changed(self, organization_id: uuid.UUID) -> None:
        """An organisation's fences changed: reload them now (again, if a load is running)."""
        self._schedule(
            ("org", organization_id),
            lambda: self.load_organization(organization_id),
            force=True,
        )

    def device_changed(self, protocol: str, unique_id: str) -> None:
        """A device was registered, changed or deleted: forget what is cached about it."""
        for device_id, info in list(self.devices.items()):
            if (info.protocol, info.unique_id) == (protocol, unique_id):
                del self.devices[device_id]
        self._schedule(
            ("identity", protocol, unique_id), lambda: self.load_identity(protocol, unique_id)
        )

    async def warm(self, *, history_days: int = 90) -> None:
        """Load every device and every organisation's fences before positions flow (call it
        once at start), so that the first fixes after a restart are checked too."""
        since = datetime.now(UTC) - timedelta(days=history_days)
        async with self.database.session() as db:
            devices = list(await db.scalars(select(Device)))
            inside: dict[uuid.UUID, dict[str, bool]] = {}
            rows = await db.stream(
                select(Event.device_id, Event.type, Event.attributes)
                .where(Event.type.in_(("geofence_enter", "geofence_exit")), Event.time >= since)
                .order_by(Event.time.desc(), Event.id.desc())
            )
            async for device_id, kind, attributes in rows:
                fence = str((attributes or {}).get("fence_id", ""))
                seen = inside.setdefault(device_id, {})
                if fence and fence not in seen:
                    seen[fence] = kind == "geofence_enter"
            organizations = set(await db.scalars(select(Geofence.organization_id).distinct()))
        now = self.monotonic()
        for device in devices:
            entered = {
                uuid.UUID(f) for f, yes in inside.get(device.id, {}).items() if yes and _is_uuid(f)
            }
            self.devices[device.id] = self._info(device, frozenset(entered), now)
        for organization_id in organizations | {d.organization_id for d in devices}:
            await self.load_organization(organization_id)

    async def settle(self) -> None:
        """Wait for every load in flight (tests, and an orderly stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # Loading

    def _schedule(
        self,
        key: tuple[Hashable, ...],  # ("device", id), ("org", id), ("identity", protocol, id)
        load: Callable[[], Coroutine[Any, Any, None]],
        *,
        force: bool = False,
    ) -> None:
        if key in self._tasks:
            if force:
                self._again.add(key)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the event loop: the TTL catches up instead
            return
        task = loop.create_task(load(), name=f"fencebook-{key[0]}")
        self._tasks[key] = task

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.pop(key, None)
            if not done.cancelled() and done.exception() is not None:
                log.error("fence book load failed: %s", type(done.exception()).__name__)
            if key in self._again:
                self._again.discard(key)
                self._schedule(key, load)

        task.add_done_callback(finished)

    async def load_device(self, device_id: uuid.UUID) -> None:
        """Read one device and where its newest enter/exit events left it."""
        async with self.database.session() as db:
            device = await db.get(Device, device_id)
            if device is None:
                self.devices.pop(device_id, None)
                return
            known = self.devices.get(device_id)
            inside = set(known.inside) if known is not None else await self._inside(db, device_id)
            self.devices[device_id] = self._info(device, frozenset(inside), self.monotonic())
        if device.organization_id not in self.organizations:
            await self.load_organization(device.organization_id)

    def _info(self, device: Device, inside: frozenset[uuid.UUID], now: float) -> DeviceInfo:
        return DeviceInfo(
            id=device.id,
            organization_id=device.organization_id,
            group_id=device.group_id,
            protocol=device.protocol,
            unique_id=device.unique_id,
            speed_limit_kmh=_speed_limit(device.attributes or {}),
            inside=inside,
            loaded_at=now,
        )

    async def load_identity(self, protocol: str, unique_id: str) -> None:
        """Load a device known by its protocol identity (just registered, say)."""
        async with self.database.session() as db:
            device_id = await db.scalar(
                select(Device.id).where(Device.protocol == protocol, Device.unique_id == unique_id)
            )
        if device_id is not None:
            await self.load_device(device_id)

    async def _inside(self, db: AsyncSession, device_id: uuid.UUID) -> set[uuid.UUID]:
        """Fences the device's newest enter/exit events leave it inside (read once)."""
        rows = await db.execute(
            select(Event.type, Event.attributes)
            .where(
                Event.device_id == device_id,
                Event.type.in_(("geofence_enter", "geofence_exit")),
            )
            .order_by(Event.time.desc(), Event.id.desc())
            .limit(1000)
        )
        seen: dict[str, bool] = {}
        for kind, attributes in rows:
            fence = str((attributes or {}).get("fence_id", ""))
            if fence and fence not in seen:
                seen[fence] = kind == "geofence_enter"
        inside = set()
        for fence, entered in seen.items():
            if entered:
                try:
                    inside.add(uuid.UUID(fence))
                except ValueError:
                    continue
        return inside

    async def load_organization(self, organization_id: uuid.UUID) -> None:
        """Read an organisation's fences and build its index (in a thread)."""
        async with self.database.session() as db:
            views = await organization_fences(db, organization_id)
            rows = [
                {
                    "id": v.fence.id,
                    "name": v.fence.name,
                    "kind": v.fence.kind,
                    "geometry": v.fence.geometry,
                    "radius_m": v.fence.radius_m,
                    "width_m": v.fence.width_m,
                    "speed_limit_kmh": v.fence.speed_limit_kmh,
                    "schedule": v.fence.schedule,
                    "breach_on": v.fence.breach_on,
                    "device_ids": v.device_ids,
                    "group_ids": v.group_ids,
                }
                for v in views
            ]
        compiled = await asyncio.to_thread(compile_fences, rows, self.monotonic())
        self.organizations[organization_id] = compiled
