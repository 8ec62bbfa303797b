"""Retention: the pure decision of what has expired, and the sweeper that deletes it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.db import partitions
from camtel.devices import latest
from camtel.devices.models import Device
from camtel.privacy import holds as legal_holds
from camtel.privacy.registry import RETENTION, Retention
from camtel.privacy.rights_models import RetentionOverride
from camtel.privacy.tables import table as registered

log = logging.getLogger(__name__)

#: Recordings are swept by `camtel.media.cleanup` (rows and objects together); organisations
#: set their days under these names, each covering the recording categories listed.
MEDIA_TARGETS: dict[str, tuple[str, ...]] = {
    "media.normal": ("normal",),
    "media.event": ("event", "locked"),
}


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


def _person_column(name: str) -> str | None:
    """The column that says whose a row is, for holds and overrides: a device or a user."""
    columns = registered(name).c
    return "device_id" if "device_id" in columns else "user_id" if "user_id" in columns else None


def overridable() -> list[str]:
    """What an organisation may set its own number of days for: tables with a day-based rule
    whose rows belong to a device or a person, and the recording categories."""
    tables = [
        name
        for name, rules in RETENTION.items()
        if len(rules) == 1
        and rules[0].days is not None
        and not rules[0].where
        and rules[0].overridable
        and _person_column(name) is not None
    ]
    return sorted(tables) + sorted(MEDIA_TARGETS)


def days_by_subject(
    members: dict[uuid.UUID, set[uuid.UUID]], per_org: dict[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """Each device's or person's days under their organisations' overrides. A person in
    several organisations gets the shortest (kept no longer than any of them decided). Pure."""
    out: dict[uuid.UUID, int] = {}
    for org, days in per_org.items():
        for subject in members.get(org, ()):
            out[subject] = min(days, out.get(subject, days))
    return out


async def overrides(db: AsyncSession) -> dict[str, dict[uuid.UUID, int]]:
    """Organisations' own retention: target (table or media category) -> org -> days."""
    out: dict[str, dict[uuid.UUID, int]] = {}
    for org, table, days in (
        await db.execute(
            select(
                RetentionOverride.organization_id,
                RetentionOverride.table_name,
                RetentionOverride.days,
            )
        )
    ).all():
        out.setdefault(table, {})[org] = days
    return out


async def overrides_of(db: AsyncSession, organization_id: uuid.UUID) -> dict[str, int]:
    """One organisation's own retention: target -> days."""
    rows = await db.execute(
        select(RetentionOverride.table_name, RetentionOverride.days).where(
            RetentionOverride.organization_id == organization_id
        )
    )
    return {table: days for table, days in rows.all()}


async def clear_override(db: AsyncSession, organization_id: uuid.UUID, target: str) -> None:
    """The organisation goes back to camtel's default days for `target`."""
    await db.execute(
        delete(RetentionOverride).where(
            RetentionOverride.organization_id == organization_id,
            RetentionOverride.table_name == target,
        )
    )


async def sweep(db: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Delete every expired row of every table with a retention rule; returns counts."""
    holds = await legal_holds.active(db)
    per_target = await overrides(db)
    counts: dict[str, int] = {}
    for name, rules in RETENTION.items():
        table = registered(name)
        if name in partitions.PARTITIONED and len(rules) == 1:
            dropped = await _drop_months(db, name, rules[0], now, holds, per_target.get(name))
            if dropped:
                counts[f"{name} (months dropped)"] = dropped
        for rule in rules:
            counts[name] = counts.get(name, 0) + await _sweep_table(
                db, table, rule, now, holds, per_target.get(name, {})
            )
    # A device's kept newest fix must not outlive it in positions: rebuilt from what is left.
    await latest.repair(db)
    log.info("retention sweep done", extra={"deleted": counts})
    return counts


def month_cutoff(rule: Retention, now: datetime, override_days: Iterable[int] = ()) -> datetime:
    """Before this moment every row has expired for everyone: under camtel's days and under
    every organisation's own (a month ending before it may be dropped whole). Pure."""
    days = max([rule.days or 0, *override_days])
    return now - timedelta(days=days)


async def _drop_months(
    db: AsyncSession,
    name: str,
    rule: Retention,
    now: datetime,
    holds: legal_holds.Holds,
    per_org: dict[uuid.UUID, int] | None,
) -> int:
    """Drop a partitioned table's months whose every row has expired; months holding a held
    device's rows stay for the row-by-row sweep. Returns how many months went."""
    if (
        rule.days is None
        or rule.where
        or rule.held_by != "device_id"
        or (rule.column != partitions.PARTITIONED[name])
    ):
        return 0
    cutoff = month_cutoff(rule, now, (per_org or {}).values())
    dropped = await partitions.drop_expired(
        await db.connection(), name, cutoff, held_devices=holds.devices
    )
    return len(dropped)


async def _sweep_table(db, table, rule, now, holds, per_org):
    column = table.c[rule.column]
    base = [table.c[key] == value for key, value in rule.where]
    # Each hold keeps only rows of its own organisation (camtel.privacy.holds).
    held = legal_holds.held_rows(table, rule.held_by, holds)
    total = 0
    key = _person_column(table.name) if rule.days is not None and not rule.where else None
    special: dict[uuid.UUID, int] = {}
    if per_org and key is not None:
        members = {org: await _members(db, key, org) for org in per_org}
        special = days_by_subject(members, per_org)
    groups: dict[int, set[uuid.UUID]] = {}
    for subject, days in special.items():
        groups.setdefault(days, set()).add(subject)
    for days, subjects in groups.items():
        conditions = [*base, table.c[key].in_(subjects), column < cutoff(rule, now, days)]
        if held is not None:
            conditions.append(not_(held))
        total += (await db.execute(delete(table).where(and_(*conditions)))).rowcount or 0
    conditions = [*base, column < cutoff(rule, now)]
    if special:
        conditions.append(not_(table.c[key].in_(set(special))))
    if held is not None:
        conditions.append(not_(held))
    total += (await db.execute(delete(table).where(and_(*conditions)))).rowcount or 0
    return total


async def _members(db: AsyncSession, key: str, org: uuid.UUID) -> set[uuid.UUID]:
    """An organisation's devices (for device rows) or members (for a person's rows)."""
    if key == "device_id":
        return set(await db.scalars(select(Device.id).where(Device.organization_id == org)))
    return set(
        await db.scalars(select(Membership.user_id).where(Membership.organization_id == org))
    )
