"""The privacy policy and terms: a person's acceptance of the version in force, and for
operators the preview and publication of a new version (every account is mailed)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import Field

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.privacy.consents import ConsentOut, channel_of
from camtel.api.privacy.operators import require_operator
from camtel.api.schemas import Strict
from camtel.errors import Conflict, Invalid
from camtel.privacy import policies, policy_markdown
from camtel.services import Services

router = APIRouter()


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
        channel=channel_of(caller),
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
    require_operator(caller)
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
    require_operator(caller)
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
