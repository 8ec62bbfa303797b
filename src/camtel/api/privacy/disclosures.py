"""The disclosure register: operators record what was disclosed to whom, and the people
concerned are told unless the law forbids; a person sees the disclosures they were told of."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import Field
from sqlalchemy import select

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.privacy.operators import require_operator
from camtel.api.schemas import Out, Strict
from camtel.privacy import disclosures
from camtel.privacy.models import Disclosure, DisclosureSubject

router = APIRouter()


class SubjectIn(Strict):
    user_id: uuid.UUID | None = Field(None, description="The person's account id, or...")
    email: str | None = Field(None, max_length=254, description="...their email address.")
    tell: bool = True
    not_told_reason: str = Field("", max_length=300)


class DisclosureIn(Strict):
    recipient: str = Field(min_length=2, max_length=200)
    purpose: str = Field(min_length=3, max_length=300)
    categories: list[str] = Field(min_length=1, max_length=20)
    legal_basis: str = Field(min_length=3, max_length=200)
    disclosed_at: datetime
    subjects: list[SubjectIn] = Field(min_length=1, max_length=10_000)


class DisclosureOut(Out):
    id: uuid.UUID
    recipient: str
    purpose: str
    categories: list[str]
    legal_basis: str
    disclosed_at: datetime
    created_at: datetime


@router.get("/me/disclosures", summary="Disclosures of your data you have been told about")
async def my_disclosures(caller: CallerDep, db: Db) -> list[dict[str, Any]]:
    return [
        DisclosureOut.model_validate(d).model_dump(mode="json") | {"told_at": told.isoformat()}
        for d, told in await disclosures.disclosures_of(db, caller.user.id)
    ]


@router.post(
    "/privacy/disclosures",
    status_code=status.HTTP_201_CREATED,
    summary="Record a disclosure (operators); the people are told unless the law forbids",
)
async def record_disclosure(
    body: DisclosureIn, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, Any]:
    require_operator(caller)
    row = await disclosures.record_disclosure(
        db,
        services.mailer,
        recorded_by=caller.user.id,
        recipient=body.recipient,
        purpose=body.purpose,
        categories=body.categories,
        legal_basis=body.legal_basis,
        disclosed_at=body.disclosed_at,
        subjects=[disclosures.SubjectIn(**s.model_dump()) for s in body.subjects],
        now=services.clock(),
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)  # after the response
    return DisclosureOut.model_validate(row).model_dump(mode="json") | {
        "people": len(body.subjects),
        "told": sum(1 for s in body.subjects if s.tell),
    }


@router.get("/privacy/disclosures", summary="The disclosure register (operators)")
async def list_disclosures(caller: CallerDep, db: Db) -> list[dict[str, Any]]:
    require_operator(caller)
    rows = list(
        await db.scalars(select(Disclosure).order_by(Disclosure.disclosed_at.desc()).limit(1000))
    )
    out = []
    for row in rows:
        subjects = list(
            await db.scalars(
                select(DisclosureSubject).where(DisclosureSubject.disclosure_id == row.id)
            )
        )
        out.append(
            DisclosureOut.model_validate(row).model_dump(mode="json")
            | {
                "subjects": [
                    {
                        "user_id": str(s.user_id) if s.user_id else None,
                        "told_at": s.told_at.isoformat() if s.told_at else None,
                        "not_told_reason": s.not_told_reason,
                    }
                    for s in subjects
                ]
            }
        )
    return out
