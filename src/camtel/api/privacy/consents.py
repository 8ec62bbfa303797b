"""Consents: a person's decision per purpose, recorded in the ledger and never updated or
deleted (a decision is changed by recording a new one); and what the other privacy modules
share about that ledger: the shape of a record, the channel of a decision, and what follows a
decision that changes what may be collected about a person."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from fastapi import APIRouter, status

from camtel.accounts.caller import Caller
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.schemas import Out
from camtel.devices import service as device_service
from camtel.privacy import consent
from camtel.privacy.consent import OWN_PURPOSES, Channel, Outcome, Purpose

router = APIRouter()

OwnPurpose = Literal[
    "analytics", "diagnostics", "marketing_email", "share_location_with_organisation"
]
assert set(get_args(OwnPurpose)) == set(OWN_PURPOSES)


def channel_of(caller: Caller) -> Channel:
    return (
        Channel.WEB
        if caller.session is not None and caller.session.kind == "web"
        else (Channel.API)
    )


async def collection_changed(db: Db, services: Svc, user_id: uuid.UUID) -> None:
    """Commit a decision about what may be collected about a person, then have the gateways
    forget what they cached about every device tracking them."""
    tracked = await device_service.tracking_devices(db, user_id=user_id)
    await db.commit()
    for protocol, unique_id in tracked:
        services.device_changed(protocol, unique_id)


class ConsentOut(Out):
    id: uuid.UUID
    purpose: str
    outcome: str
    policy_version: int | None
    time: datetime
    channel: str
    actor_id: uuid.UUID | None


@router.get("/me/consents", summary="Your consent per purpose, and every decision you made")
async def my_consents(caller: CallerDep, db: Db) -> dict[str, Any]:
    records = await consent.history(db, caller.user.id)
    current = consent.latest(records)
    return {
        "purposes": {
            str(purpose): {
                "state": current[purpose].outcome if purpose in current else "not_asked",
                "allowed": consent.is_given(current.get(purpose)),
                "since": current[purpose].time if purpose in current else None,
            }
            for purpose in Purpose
        },
        "history": [ConsentOut.model_validate(r).model_dump(mode="json") for r in records],
    }


async def _decide(
    caller: Caller, db: Db, services: Svc, purpose: str, outcome: Outcome
) -> ConsentOut:
    row = await consent.record(
        db,
        user_id=caller.user.id,
        purpose=Purpose(purpose),
        outcome=outcome,
        channel=channel_of(caller),
        now=services.clock(),
    )
    if purpose == Purpose.SHARE_LOCATION_WITH_ORGANISATION:
        await collection_changed(db, services, caller.user.id)
    return ConsentOut.model_validate(row)


@router.post(
    "/me/consents/{purpose}/give",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOut,
    summary="Give consent for a purpose",
)
async def give(purpose: OwnPurpose, caller: CallerDep, db: Db, services: Svc) -> ConsentOut:
    return await _decide(caller, db, services, purpose, Outcome.GIVEN)


@router.post(
    "/me/consents/{purpose}/withdraw",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOut,
    summary="Withdraw consent for a purpose (as easy as giving it)",
)
async def withdraw(purpose: OwnPurpose, caller: CallerDep, db: Db, services: Svc) -> ConsentOut:
    return await _decide(caller, db, services, purpose, Outcome.WITHDRAWN)


@router.post(
    "/me/consents/{purpose}/refuse",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOut,
    summary="Refuse consent for a purpose when asked",
)
async def refuse(purpose: OwnPurpose, caller: CallerDep, db: Db, services: Svc) -> ConsentOut:
    return await _decide(caller, db, services, purpose, Outcome.REFUSED)
