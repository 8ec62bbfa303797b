"""The contact page (P22, P23): one form that goes to sales or to the data-protection officer,
through POST /api/v1/contact (rate-limited per client address)."""

from __future__ import annotations

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from camtel.privacy import contact
from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.public import public_page
from camtel.web.render import request_language

router = APIRouter(include_in_schema=False)


@router.get("/contact")
async def contact_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, topic: str = ""
) -> HTMLResponse:
    chosen = topic if topic in {t.value for t in contact.Topic} else ""
    return public_page(
        request,
        services,
        caller,
        "contact.html",
        scripts=("contact.js",),
        topic=chosen,
        email=caller.user.email if caller else "",
        name=(caller.user.display_name or "") if caller else "",
        max_subject=contact.MAX_SUBJECT - len(contact.stored_subject(contact.Topic.SALES, "")),
        max_message=format_decimal(contact.MAX_MESSAGE, locale=request_language(request).code),
        retention_days=services.settings.contact_retention_days,
        page_data={"maxMessage": contact.MAX_MESSAGE},
    )
