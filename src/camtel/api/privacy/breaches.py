"""The breach register (operators): a breach, the deadline to tell the supervisory authority,
who it affects, and the one mail to each affected person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import Field
from sqlalchemy import select

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.privacy.operators import require_operator
from camtel.api.schemas import Strict
from camtel.privacy import breaches
from camtel.privacy.models import Breach

router = APIRouter()


class BreachIn(Strict):
    detected_at: datetime
    description: str = Field(min_length=10, max_length=10_000)
    categories: list[str] = Field(min_length=1, max_length=20)


class AuthorityNotifiedIn(Strict):
    notified_at: datetime | None = None


def _breach(row: Breach, now: datetime) -> dict[str, Any]:
    state = breaches.deadline_state(row.detected_at, row.authority_notified_at, now)
    return {
        "id": str(row.id),
        "detected_at": row.detected_at.isoformat(),
        "authority_deadline": state["authority_deadline"].isoformat(),
        "deadline_status": state["status"],
        "hours_left": state["hours_left"],
        "authority_notified_at": (
            row.authority_notified_at.isoformat() if row.authority_notified_at else None
        ),
        "people_notified_at": row.people_notified_at.isoformat()
        if row.people_notified_at
        else None,
        "description": row.description,
        "categories": row.categories,
    }


@router.post(
    "/privacy/breaches", status_code=status.HTTP_201_CREATED, summary="Record a breach (operators)"
)
async def record_breach(body: BreachIn, caller: CallerDep, db: Db, services: Svc) -> dict:
    require_operator(caller)
    now = services.clock()
    row = await breaches.record_breach(
        db,
        recorded_by=caller.user.id,
        detected_at=body.detected_at,
        description=body.description,
        categories=body.categories,
        now=now,
    )
    return _breach(row, now)


@router.get("/privacy/breaches", summary="The breach register with deadlines (operators)")
async def list_breaches(caller: CallerDep, db: Db, services: Svc) -> list[dict[str, Any]]:
    require_operator(caller)
    now = services.clock()
    rows = await db.scalars(select(Breach).order_by(Breach.detected_at.desc()).limit(1000))
    return [_breach(r, now) for r in rows]


@router.get("/privacy/breaches/{breach_id}", summary="One breach and who it affects (operators)")
async def show_breach(breach_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> dict:
    require_operator(caller)
    row = await breaches.get_breach(db, breach_id)
    affected = await breaches.affected_people(db, row.categories)
    return _breach(row, services.clock()) | {
        "affected_people": len(affected.user_ids),
        "affected_by_table": affected.by_table,
        "tables_to_check_by_hand": affected.unresolved,
    }


@router.post(
    "/privacy/breaches/{breach_id}/authority-notified",
    summary="Record that the supervisory authority was told (operators)",
)
async def authority_notified(
    breach_id: uuid.UUID, body: AuthorityNotifiedIn, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    require_operator(caller)
    row = await breaches.get_breach(db, breach_id)
    row.authority_notified_at = body.notified_at or services.clock()
    return _breach(row, services.clock())


@router.post(
    "/privacy/breaches/{breach_id}/notify",
    summary="Mail every affected person once (operators); running it again tells only new ones",
)
async def notify_breach(
    breach_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, int]:
    require_operator(caller)
    counts = await breaches.notify_affected(
        db, services.mailer, breach_id=breach_id, now=services.clock()
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)  # after the response
    return counts
