"""Managing a person's notification rules, each call scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller
from camtel.devices.models import Device
from camtel.devices.service import visible_devices
from camtel.errors import Invalid, NotFound
from camtel.notify.models import NotificationRule

#: Rules one person may have (each is checked for every event of their organisations).
MAX_RULES = 50


async def _check_devices(db: AsyncSession, caller: Caller, device_ids: Sequence[uuid.UUID]) -> None:
    if not device_ids:
        return
    seen = set(
        await db.scalars(
            visible_devices(caller)
            .with_only_columns(Device.id)
            .where(Device.id.in_(list(device_ids)))
        )
    )
    missing = [d for d in device_ids if d not in seen]
    if missing:
        raise Invalid(f"device {missing[0]} not found", field="device_ids")


async def create_rule(
    db: AsyncSession, *, caller: Caller, fields: dict[str, Any], now: datetime
) -> NotificationRule:
    """A new rule of the caller's; devices named in it must be visible to them."""
    count = len(
        list(
            await db.scalars(
                select(NotificationRule.id).where(NotificationRule.user_id == caller.user.id)
            )
        )
    )
    if count >= MAX_RULES:
        raise Invalid(f"at most {MAX_RULES} rules per person")
    await _check_devices(db, caller, fields.get("device_ids") or [])
    rule = NotificationRule(user_id=caller.user.id, created_at=now)
    _apply(rule, fields)
    db.add(rule)
    await db.flush()
    return rule


def _apply(rule: NotificationRule, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if key == "device_ids":
            value = [str(d) for d in value or []]
        elif key in ("event_types", "channels"):
            value = sorted(set(value or []))
        setattr(rule, key, value)


async def get_rule(db: AsyncSession, *, caller: Caller, rule_id: uuid.UUID) -> NotificationRule:
    """One of the caller's rules, or NotFound."""
    rule = await db.get(NotificationRule, rule_id)
    if rule is None or rule.user_id != caller.user.id:
        raise NotFound("rule not found")
    return rule


async def list_rules(db: AsyncSession, *, caller: Caller) -> list[NotificationRule]:
    """The caller's rules, oldest first."""
    return list(
        await db.scalars(
            select(NotificationRule)
            .where(NotificationRule.user_id == caller.user.id)
            .order_by(NotificationRule.id)
        )
    )


async def update_rule(
    db: AsyncSession, *, caller: Caller, rule_id: uuid.UUID, fields: dict[str, Any]
) -> NotificationRule:
    """Change some fields of one of the caller's rules."""
    rule = await get_rule(db, caller=caller, rule_id=rule_id)
    if "device_ids" in fields:
        await _check_devices(db, caller, fields["device_ids"] or [])
    _apply(rule, fields)
    if (rule.quiet_start is None) != (rule.quiet_end is None):
        raise Invalid("give both quiet_start and quiet_end, or neither", field="quiet_start")
    await db.flush()
    return rule


async def delete_rule(db: AsyncSession, *, caller: Caller, rule_id: uuid.UUID) -> None:
    """Delete one of the caller's rules."""
    await db.delete(await get_rule(db, caller=caller, rule_id=rule_id))
