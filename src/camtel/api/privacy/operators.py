"""What only operators may read here: messages from the contact form (to the DPO or to sales)
and cookie-less usage statistics; and the check the other operator routes share."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import computed_field
from sqlalchemy import select

from camtel.accounts.caller import Caller
from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.schemas import Out
from camtel.errors import Forbidden
from camtel.privacy import analytics, contact
from camtel.privacy.models import ContactMessage

router = APIRouter()


def require_operator(caller: Caller) -> None:
    if not caller.user.is_admin:
        raise Forbidden("only operators may do this")


class ContactOut(Out):
    id: uuid.UUID
    name: str
    email: str
    subject: str
    message: str
    forwarded: bool
    created_at: datetime
    expires_at: datetime

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented pattern; mypy rejects decorated properties
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
    require_operator(caller)
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
    require_operator(caller)
    today = services.clock().date()
    await analytics.rollup(db, today=today)
    return await analytics.aggregate(db, since=today - timedelta(days=days - 1), until=today, by=by)
