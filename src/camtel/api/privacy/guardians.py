"""Minors and their guardians (P20): a person without an age statement states it once; a minor
invites a guardian, the guardian confirms, then decides what may be collected about their ward
and may have the ward's data erased."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import Field

from camtel.accounts import service
from camtel.accounts.service import is_minor
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.privacy.consents import ConsentOut, collection_changed
from camtel.api.schemas import Strict
from camtel.privacy import minors
from camtel.privacy.consent import Outcome

router = APIRouter()
log = logging.getLogger(__name__)


class AgeStatement(Strict):
    date_of_birth: date | None = Field(
        None,
        description="Your date of birth: under 18, collecting your location, video and "
        "diagnostics waits for a guardian's consent from now on.",
    )
    adult: bool | None = Field(
        None,
        description="true: you confirm you are 18 or older (instead of, or with, a "
        "date_of_birth that agrees). One of the two is required.",
    )


class GuardianInvite(Strict):
    email: str = Field(max_length=254, description="The guardian's email address.")


class TokenIn(Strict):
    token: str = Field(max_length=128)


class CollectionDecision(Strict):
    outcome: Literal["given", "refused", "withdrawn"]


async def _collection(db: Db, user_id: uuid.UUID, today: date) -> dict[str, bool]:
    return {
        str(kind): await minors.collection_allowed(db, user_id, kind, today=today)
        for kind in minors.Kind
    }


@router.post(
    "/me/age",
    summary="State your age once, when your registration left it unstated",
)
async def state_age(body: AgeStatement, caller: CallerDep, db: Db, services: Svc) -> dict[str, Any]:
    now, user = services.clock(), caller.user
    service.state_age(user, date_of_birth=body.date_of_birth, adult=body.adult, now=now)
    log.info("age stated", extra={"user": str(user.id), "basis": user.age_basis})
    minor = is_minor(user, now.date())
    if minor:  # collection now waits for a guardian: the gateways must not use what they cached
        await collection_changed(db, services, user.id)
    return {
        "age_basis": user.age_basis,
        "is_minor": minor,
        "collection_allowed": await _collection(db, user.id, now.date()),
    }


@router.post(
    "/me/guardian",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Under 18: invite a guardian by email (they confirm from their own account)",
)
async def invite_guardian(
    body: GuardianInvite, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, Any]:
    invitation = await minors.invite_guardian(
        db,
        services.mailer,
        minor=caller.user,
        email=body.email,
        base_url=services.settings.base_url,
        now=services.clock(),
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)  # after the response
    return {"invitation_id": str(invitation.id), "expires_at": invitation.expires_at}


@router.get("/me/guardian", summary="Your guardian link and what may be collected about you")
async def my_guardian(caller: CallerDep, db: Db, services: Svc) -> dict[str, Any]:
    today = services.clock().date()
    user = caller.user
    return {
        "is_minor": is_minor(user, today),
        "guardian_linked": user.guardian_id is not None,
        "collection_allowed": await _collection(db, user.id, today),
    }


class GuardianConfirmation(TokenIn):
    adult: bool | None = Field(
        None,
        description="true: you confirm you are 18 or older. Required when your own age was "
        "never stated (422 `age_required` without); recorded as your age statement.",
    )


@router.post("/guardians/confirm", summary="Become the guardian named in an invitation")
async def confirm_guardian(
    body: GuardianConfirmation, caller: CallerDep, db: Db, services: Svc
) -> dict:
    minor = await minors.confirm_guardian(
        db, guardian=caller.user, token=body.token, now=services.clock(), adult=body.adult
    )
    await collection_changed(db, services, minor.id)  # a returning guardian's consent counts
    return {"ward_id": str(minor.id), "guardian_id": str(caller.user.id)}


@router.get("/guardians/wards", summary="The minors you are guardian of")
async def list_wards(caller: CallerDep, db: Db, services: Svc) -> list[dict[str, Any]]:
    today = services.clock().date()
    return [
        {
            "id": str(ward.id),
            "display_name": ward.display_name,
            "is_minor": is_minor(ward, today),
            "collection_allowed": await _collection(db, ward.id, today),
            "decisions": await minors.decisions(db, guardian_id=caller.user.id, minor_id=ward.id),
        }
        for ward in await minors.wards(db, caller.user.id)
    ]


@router.post(
    "/guardians/wards/{minor_id}/collection/{kind}",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOut,
    summary="Give, refuse or withdraw consent to collect a ward's location, video or diagnostics",
)
async def decide_collection(
    minor_id: uuid.UUID,
    kind: Literal["location", "video", "diagnostics"],
    body: CollectionDecision,
    caller: CallerDep,
    db: Db,
    services: Svc,
) -> ConsentOut:
    row = await minors.decide(
        db,
        guardian=caller.user,
        minor_id=minor_id,
        kind=minors.Kind(kind),
        outcome=Outcome(body.outcome),
        now=services.clock(),
    )
    assert row.user_id is not None  # a guardian's answer is about a ward's own consent
    await collection_changed(db, services, row.user_id)
    return ConsentOut.model_validate(row)


@router.post(
    "/guardians/wards/{minor_id}/erasure",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Have a ward's personal data erased",
)
async def erase_ward(
    minor_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    from camtel.privacy import erasure

    now = services.clock()
    request = await minors.request_erasure(db, guardian=caller.user, minor_id=minor_id, now=now)
    await collection_changed(db, services, minor_id)  # collection stops before erasing
    counts = await erasure.execute(
        services.database, request_id=request.id, now=now, hooks=services.erasure_hooks
    )
    return {"request_id": str(request.id), "status": "done", "deleted": counts}
