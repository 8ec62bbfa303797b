"""Retention: the pure decision of what has expired, and the sweeper that deletes it."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.db.models import metadata
from camtel.devices.models import Device
from camtel.privacy.registry import RETENTION, Retention
from camtel.privacy.rights_models import LegalHold, RetentionOverride

log = logging.getLogger(__name__)


def cutoff(rule: Retention, now: datetime, override_days: int | None = None) -> datetime:
    """Rows whose `rule.column` is before this moment have expired."""
    if rule.days is None:
        return now  # the column is an expiry time
    return now - timedelta(days=override_days if override_days is not None else rule.days)


def expired(
    rule: Retention,
    value: datetime,
    now: datetime,
    *,
    held: bool = False,
    override_days: int | None = None,
) -> bool:
    """Whether one row has expired: never while held, else by its time and the rule."""
    return not held and value < cutoff(rule, now, override_days)


async def _holds(db: AsyncSession, now: datetime) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    rows = (
        await db.execute(
            select(LegalHold.device_id, LegalHold.user_id).where(LegalHold.released_at.is_(None))
        )
    ).all()
    return {d for d, _ in rows if d}, {u for _, u in rows if u}


async def sweep(db: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Delete every expired row of every table with a retention rule; returns counts."""
    held_devices, held_users = await _holds(db, now)
    overrides: dict[str, dict[uuid.UUID, int]] = {}
    for org, table, days in (
        await db.execute(
            select(
                RetentionOverride.organization_id,
                RetentionOverride.table_name,
                RetentionOverride.days,
            )
        )
    ).all():
        overrides.setdefault(table, {})[org] = days
    counts: dict[str, int] = {}
    for name, rules in RETENTION.items():
        table = metadata.tables.get(name)
        if table is None:
            continue
        for rule in rules:
            counts[name] = counts.get(name, 0) + await _sweep_table(
                db, table, rule, now, held_devices, held_users, overrides.get(name, {})
            )
    log.info("retention sweep done", extra={"deleted": counts})
    return counts


async def _sweep_table(db, table, rule, now, held_devices, held_users, per_org):  # type: ignore[no-untyped-def]
    column = table.c[rule.column]
    base = [table.c[key] == value for key, value in rule.where]
    held = None
    if rule.held_by == "device_id" and held_devices:
        held = table.c.device_id.in_(held_devices)
    elif rule.held_by == "user_id" and held_users:
        held = table.c.user_id.in_(held_users)
    total = 0
    special_devices: set[uuid.UUID] = set()
    if per_org and "device_id" in table.c:
        for org, days in per_org.items():
            devices = set(await db.scalars(select(Device.id).where(Device.organization_id == org)))
            special_devices |= devices
            if not devices:
                continue
            conditions = [*base, table.c.device_id.in_(devices), column < cutoff(rule, now, days)]
            if held is not None:
                conditions.append(not_(held))
            total += (await db.execute(delete(table).where(and_(*conditions)))).rowcount or 0
    conditions = [*base, column < cutoff(rule, now)]
    if special_devices:
        conditions.append(not_(table.c.device_id.in_(special_devices)))
    if held is not None:
        conditions.append(not_(held))
    total += (await db.execute(delete(table).where(and_(*conditions)))).rowcount or 0
    return total
