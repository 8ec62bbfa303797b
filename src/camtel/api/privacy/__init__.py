"""Privacy for signed-in people: consents, policy acceptance, guardians; and for operators,
the disclosure and breach registers, DPO messages and usage statistics.

Consent records have no update or delete route: a decision is changed by recording a new one.
A decision that changes what may be collected about a person (their objection to sharing
their location with their organisation, a guardian's decisions, the start of an erasure) is
committed, then every gateway cache is told about each device tracking them: it applies to
the very next message, not after the cache expires. (Accepting a policy changes no
collection: nothing is gated on it.)
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from pydantic import Field, computed_field
from sqlalchemy import select

from camtel.accounts.caller import Caller
from camtel.accounts.service import is_minor
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.pagination import Cursor, Limit, page, time_cursor
from camtel.api.schemas import Out, Strict
from camtel.devices import service as device_service
from camtel.errors import Conflict, Forbidden, Invalid
from camtel.privacy import (
    analytics,
    audit,
    consent,
    contact,
    minors,
    policies,
    policy_markdown,
    registers,
)
from camtel.privacy.consent import OWN_PURPOSES, Channel, Outcome, Purpose
from camtel.privacy.models import Breach, ContactMessage, Disclosure, DisclosureSubject
from camtel.services import Services

router = APIRouter(tags=["privacy"])

OwnPurpose = Literal[
    "analytics", "diagnostics", "marketing_email", "share_location_with_organisation"
]
assert set(OwnPurpose.__args__) == set(OWN_PURPOSES)  # type: ignore[attr-defined]


def _channel(caller: Caller) -> Channel:
    return (
        Channel.WEB
        if caller.session is not None and caller.session.kind == "web"
        else (Channel.API)
    )


def _operator(caller: Caller) -> None:
    if not caller.user.is_admin:
        raise Forbidden("only operators may do this")


async def _collection_changed(db: Db, services: Svc, user_id: uuid.UUID) -> None:
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


# --- consents ------------------------------------------------------------------------------


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
        channel=_channel(caller),
        now=services.clock(),
    )
    if purpose == Purpose.SHARE_LOCATION_WITH_ORGANISATION:
        await _collection_changed(db, services, caller.user.id)
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


# --- who read my data ----------------------------------------------------------------------


class AccessAuditOut(Out):
    id: uuid.UUID
    time: datetime = Field(description="When the data was read")
    actor_name: str = Field(
        description="The reader's display name; empty when they gave none or their account is gone"
    )
    actor_known: bool = Field(description="False once the reader's account is gone")
    actor_role: str = Field(
        description="The reader's role in the device's organisation (owner, manager, viewer...); "
        "empty when they were not a member (an operator)"
    )
    action: str = Field(
        description="read_positions, export_positions, read_events, read_trips, read_stops, "
        "read_summary_report, list_media, read_media, read_media_content, "
        "read_media_thumbnail, read_media_track, watch_live"
    )
    device_id: uuid.UUID | None
    device_name: str | None = Field(description="None once the device is gone")


@router.get(
    "/me/access-audit",
    response_model=list[AccessAuditOut],
    summary="Who read your data (a device you drive), what and when, newest first",
)
async def my_access_audit(
    request: Request,
    response: Response,
    caller: CallerDep,
    db: Db,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[AccessAuditOut]:
    rows = await audit.reads_of(db, subject=caller.user.id, limit=limit, after=time_cursor(cursor))
    kept = page(
        rows,
        limit=limit,
        request=request,
        response=response,
        key=lambda r: [r.at.isoformat(), str(r.id)],
    )
    return [
        AccessAuditOut(
            id=r.id,
            time=r.at,
            actor_name=r.actor_name,
            actor_known=r.actor_known,
            actor_role=r.actor_role,
            action=r.action,
            device_id=r.device_id,
            device_name=r.device_name,
        )
        for r in kept
    ]


# --- policy acceptance ---------------------------------------------------------------------


class AcceptanceIn(Strict):
    kind: Literal["privacy", "terms"] = "privacy"
    version: int = Field(ge=1)


@router.get("/me/policy-acceptance", summary="Whether you need to accept a new policy version")
async def acceptance_status(caller: CallerDep, db: Db) -> dict[str, Any]:
    return await policies.status(db, caller.user.id)


@router.post(
    "/me/policy-acceptance",
    status_code=status.HTTP_201_CREATED,
    summary="Accept the policy or terms version in force (recorded in the consent ledger)",
)
async def accept_policy(
    body: AcceptanceIn, caller: CallerDep, db: Db, services: Svc
) -> dict[str, Any]:
    row = await policies.accept(
        db,
        user_id=caller.user.id,
        kind=policies.Kind(body.kind),
        number=body.version,
        channel=_channel(caller),
        now=services.clock(),
    )
    return {"accepted": ConsentOut.model_validate(row).model_dump(mode="json")} | (
        await policies.status(db, caller.user.id)
    )


class PolicyIn(Strict):
    kind: Literal["privacy", "terms"]
    markdown: str = Field(max_length=policies.MAX_BYTES, description="The whole document.")
    version: int | None = Field(
        None, ge=1, description="The version this will be; refused if another was published."
    )
    summary: str = Field("", max_length=2000, description="What changed, for the mail.")


class PreviewIn(Strict):
    kind: Literal["privacy", "terms"] = "privacy"
    markdown: str = Field(max_length=policies.MAX_BYTES)


async def _next_version(db: Db, kind: policies.Kind) -> tuple[int, str]:
    """The number the next version of `kind` gets, and the digest of the one in force."""
    in_force = (await policies.current(db)).get(kind)
    return (in_force.version + 1, in_force.digest) if in_force else (1, "")


@router.post(
    "/privacy/policies/preview",
    summary="The document as its page will show it, before publishing (operators)",
)
async def preview_policy(body: PreviewIn, caller: CallerDep, db: Db) -> dict[str, Any]:
    _operator(caller)
    if not body.markdown.strip():
        raise Invalid("the document is empty", field="markdown")
    kind = policies.Kind(body.kind)
    number, digest = await _next_version(db, kind)
    return {
        "kind": body.kind,
        "version": number,
        "title": policies.title_of(body.markdown, kind),
        "html": policy_markdown.to_html(body.markdown),
        "unchanged": digest == hashlib.sha256(body.markdown.encode()).hexdigest(),
    }


async def _deliver_all(services: Services) -> None:
    while await services.mailer.deliver_pending():  # 100 a round, until none is left
        pass


@router.post(
    "/privacy/policies",
    status_code=status.HTTP_201_CREATED,
    summary="Publish a new version of the privacy policy or terms (operators); every "
    "account is mailed through the outbox",
)
async def publish_policy(
    body: PolicyIn, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, Any]:
    _operator(caller)
    kind = policies.Kind(body.kind)
    number, _ = await _next_version(db, kind)
    if body.version is not None and body.version != number:
        raise Conflict(f"the next version is {number}", field="version", next_version=number)
    row, mailed = await policies.publish(
        db,
        services.mailer,
        kind=kind,
        text=body.markdown,
        now=services.clock(),
        base_url=services.settings.base_url,
        summary=body.summary,
    )
    if row.version != number:
        raise Conflict("this text is already the version in force", field="markdown")
    await db.commit()
    background.add_task(_deliver_all, services)  # after the response
    return {
        "kind": row.kind,
        "version": row.version,
        "title": row.title,
        "published_at": row.published_at.isoformat(),
        "mailed": mailed,
    }


# --- guardians -----------------------------------------------------------------------------


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


@router.post("/guardians/confirm", summary="Become the guardian named in an invitation")
async def confirm_guardian(body: TokenIn, caller: CallerDep, db: Db, services: Svc) -> dict:
    minor = await minors.confirm_guardian(
        db, guardian=caller.user, token=body.token, now=services.clock()
    )
    await _collection_changed(db, services, minor.id)  # a returning guardian's consent counts
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
    await _collection_changed(db, services, row.user_id)  # type: ignore[arg-type]
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
    await _collection_changed(db, services, minor_id)  # collection stops before erasing
    counts = await erasure.execute(
        services.database, request_id=request.id, now=now, hooks=services.erasure_hooks
    )
    return {"request_id": str(request.id), "status": "done", "deleted": counts}


# --- disclosures ---------------------------------------------------------------------------


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
        for d, told in await registers.disclosures_of(db, caller.user.id)
    ]


@router.post(
    "/privacy/disclosures",
    status_code=status.HTTP_201_CREATED,
    summary="Record a disclosure (operators); the people are told unless the law forbids",
)
async def record_disclosure(
    body: DisclosureIn, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, Any]:
    _operator(caller)
    row = await registers.record_disclosure(
        db,
        services.mailer,
        recorded_by=caller.user.id,
        recipient=body.recipient,
        purpose=body.purpose,
        categories=body.categories,
        legal_basis=body.legal_basis,
        disclosed_at=body.disclosed_at,
        subjects=[registers.SubjectIn(**s.model_dump()) for s in body.subjects],
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
    _operator(caller)
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


# --- breaches ------------------------------------------------------------------------------


class BreachIn(Strict):
    detected_at: datetime
    description: str = Field(min_length=10, max_length=10_000)
    categories: list[str] = Field(min_length=1, max_length=20)


class AuthorityNotifiedIn(Strict):
    notified_at: datetime | None = None


def _breach(row: Breach, now: datetime) -> dict[str, Any]:
    state = registers.deadline_state(row.detected_at, row.authority_notified_at, now)
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
    _operator(caller)
    now = services.clock()
    row = await registers.record_breach(
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
    _operator(caller)
    now = services.clock()
    rows = await db.scalars(select(Breach).order_by(Breach.detected_at.desc()).limit(1000))
    return [_breach(r, now) for r in rows]


@router.get("/privacy/breaches/{breach_id}", summary="One breach and who it affects (operators)")
async def show_breach(breach_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> dict:
    _operator(caller)
    row = await registers.get_breach(db, breach_id)
    affected = await registers.affected_people(db, row.categories)
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
    _operator(caller)
    row = await registers.get_breach(db, breach_id)
    row.authority_notified_at = body.notified_at or services.clock()
    return _breach(row, services.clock())


@router.post(
    "/privacy/breaches/{breach_id}/notify",
    summary="Mail every affected person once (operators); running it again tells only new ones",
)
async def notify_breach(
    breach_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc, background: BackgroundTasks
) -> dict[str, int]:
    _operator(caller)
    counts = await registers.notify_affected(
        db, services.mailer, breach_id=breach_id, now=services.clock()
    )
    await db.commit()
    background.add_task(services.mailer.deliver_pending)  # after the response
    return counts


# --- DPO messages and usage statistics (operators) -----------------------------------------


class ContactOut(Out):
    id: uuid.UUID
    name: str
    email: str
    subject: str
    message: str
    forwarded: bool
    created_at: datetime
    expires_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def topic(self) -> str:
        """`privacy` (to the DPO) or `sales`, read from the stored subject."""
        return str(contact.topic_of(self.subject))


@router.get(
    "/privacy/contact-messages",
    response_model=list[ContactOut],
    summary="Messages from the contact form, to the DPO or to sales (operators)",
)
async def contact_messages(caller: CallerDep, db: Db) -> list[ContactMessage]:
    _operator(caller)
    return list(
        await db.scalars(
            select(ContactMessage).order_by(ContactMessage.created_at.desc()).limit(1000)
        )
    )


@router.get(
    "/analytics/summary",
    summary="Cookie-less usage statistics; groups under k = 10 visitors are hidden (operators)",
)
async def analytics_summary(
    caller: CallerDep,
    db: Db,
    services: Svc,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    by: Annotated[Literal["day", "page", "day_page"], Query()] = "day_page",
) -> dict[str, Any]:
    _operator(caller)
    today = services.clock().date()
    await analytics.rollup(db, today=today)
    return await analytics.aggregate(db, since=today - timedelta(days=days - 1), until=today, by=by)
