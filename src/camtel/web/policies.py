"""The privacy policy and the terms (P21): the version in force rendered from its Markdown
(camtel's default text until one is published), earlier versions with their dates, what
changed between any two, and the page that asks a signed-in person to accept a new version
at their next sign-in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from camtel.accounts.caller import Caller
from camtel.errors import NotFound
from camtel.privacy import consent, policies
from camtel.privacy.consent import Channel
from camtel.privacy.models import PolicyVersion
from camtel.privacy.policies import ACCEPTANCE, Kind
from camtel.privacy.policy_defaults import default_text
from camtel.privacy.policy_diff import passages
from camtel.privacy.policy_markdown import to_html
from camtel.services import Services
from camtel.web.formpost import check_post, safe_path
from camtel.web.i18n import Language
from camtel.web.pages import MaybeSignedIn, PageServices, SignedIn, app_page
from camtel.web.public import public_page
from camtel.web.render import request_language

router = APIRouter(include_in_schema=False)


def _names(lang: Language) -> dict[Kind, str]:
    _ = lang.gettext
    return {Kind.PRIVACY: _("Privacy policy"), Kind.TERMS: _("Terms of service")}


def split_title(markdown: str) -> tuple[str, str]:
    """(the document's own `# Title`, the rest); no title when it does not open with one. Pure."""
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("# "):
            return line[2:].strip(), "\n".join(lines[index + 1 :])
        break
    return "", markdown


def _day(moment: datetime, lang: Language) -> str:
    return format_date(moment, "long", locale=lang.code)


def _version_item(row: PolicyVersion, lang: Language) -> dict[str, Any]:
    return {"version": row.version, "date": _day(row.published_at, lang), "title": row.title}


async def _accepted_version(services: Services, caller: Caller | None, kind: Kind) -> int | None:
    """The version of this document the signed-in person accepted last, if any."""
    if caller is None:
        return None
    async with services.database.session() as db:
        decision = await consent.decision(db, caller.user.id, ACCEPTANCE[kind])
    return decision.policy_version if consent.is_given(decision) else None


async def _document_page(
    request: Request, services: Services, caller: Caller | None, kind: Kind, number: int | None
) -> HTMLResponse:
    lang = request_language(request)
    async with services.database.session() as db:
        published = await policies.versions(db, kind)
    shown = published[0] if published and number is None else None
    if number is not None:
        shown = next((row for row in published if row.version == number), None)
        if shown is None:
            raise NotFound("no such version")
    if shown is not None:
        markdown = shown.body
    else:  # nothing published yet: camtel's own text, in the page's language
        region = services.settings.storage_region
        markdown = default_text(
            kind,
            lang.code,
            {
                "storage_region": region
                if region not in ("", "local")
                else lang.gettext("the servers of the operator named in the imprint"),
                "contact_days": str(services.settings.contact_retention_days),
            },
        )
    title, body = split_title(markdown)
    accepted = await _accepted_version(services, caller, kind)
    current = published[0].version if published else None
    return public_page(
        request,
        services,
        caller,
        "policy.html",
        kind=str(kind),
        kind_name=_names(lang)[kind],
        heading=title or _names(lang)[kind],
        html=to_html(body, heading_offset=0 if title else 1),
        shown=_version_item(shown, lang) if shown else None,
        current=current,
        versions=[_version_item(row, lang) for row in published],
        accepted=accepted,
        must_accept=caller is not None and current is not None and accepted != current,
    )


def _document_routes(kind: Kind) -> None:
    """`/privacy` or `/terms`: the version in force, one version, and what changed."""

    async def in_force(
        request: Request, services: PageServices, caller: MaybeSignedIn
    ) -> HTMLResponse:
        return await _document_page(request, services, caller, kind, None)

    async def one_version(
        request: Request, services: PageServices, caller: MaybeSignedIn, number: int
    ) -> HTMLResponse:
        return await _document_page(request, services, caller, kind, number)

    async def changes(
        request: Request,
        services: PageServices,
        caller: MaybeSignedIn,
        old: Annotated[int, Query(alias="from")],
        new: Annotated[int, Query(alias="to")],
    ) -> HTMLResponse:
        return await _changes_page(request, services, caller, kind, old, new)

    router.add_api_route(f"/{kind}", in_force, methods=["GET"])
    router.add_api_route(f"/{kind}/changes", changes, methods=["GET"])
    router.add_api_route(f"/{kind}/{{number:int}}", one_version, methods=["GET"])


async def _changes_page(
    request: Request, services: Services, caller: Caller | None, kind: Kind, old: int, new: int
) -> HTMLResponse:
    """What changed between two published versions (`?from=1&to=2`)."""
    lang = request_language(request)
    async with services.database.session() as db:
        published = {row.version: row for row in await policies.versions(db, kind)}
    if old not in published or new not in published:
        raise NotFound("no such version")
    before, after = published[old], published[new]
    found = passages(before.body, after.body)
    return public_page(
        request,
        services,
        caller,
        "policy_changes.html",
        kind=str(kind),
        kind_name=_names(lang)[kind],
        before=_version_item(before, lang),
        after=_version_item(after, lang),
        passages=found,
        added=sum(p.added for p in found),
        removed=sum(p.removed for p in found),
        versions=[_version_item(published[n], lang) for n in sorted(published, reverse=True)],
    )


for _kind in Kind:
    _document_routes(_kind)


# --- accepting a new version at sign-in ----------------------------------------------------


async def _pending(services: Services, caller: Caller, lang: Language) -> list[dict[str, Any]]:
    names = _names(lang)
    async with services.database.session() as db:
        missing = await policies.acceptance_required(db, caller.user.id)
        rows = [await policies.version(db, Kind(kind), number) for kind, number in missing]
    items = []
    for row in rows:
        kind = Kind(row.kind)
        items.append(
            _version_item(row, lang)
            | {
                "kind": str(kind),
                "name": names[kind],
                "accepted": await _accepted_version(services, caller, kind),
            }
        )
    return items


@router.get("/app/policy-update")
async def policy_update(
    request: Request, services: PageServices, caller: SignedIn, next: str = "/app"
) -> Response:
    """Shown after signing in while a new version waits to be accepted; else on to `next`."""
    target = safe_path(next, "/app")
    pending = await _pending(services, caller, request_language(request))
    if not pending:
        return RedirectResponse(target, status_code=303)
    return app_page(
        request,
        services,
        caller,
        "policy_update.html",
        scripts=("policy-update.js",),
        pending=pending,
        next_url=target,
        page_data={
            "pending": [{"kind": p["kind"], "version": p["version"]} for p in pending],
            "next": target,
        },
    )


@router.post("/app/policy-update")
async def policy_update_posted(
    request: Request, services: PageServices, caller: SignedIn
) -> Response:
    """The acceptance without JavaScript: every version still pending, then on to `next`."""
    form = await request.form()
    check_post(request, caller, str(form.get("csrf", "")), services.settings.public_url)
    async with services.database.session() as db:
        for kind, number in await policies.acceptance_required(db, caller.user.id):
            await policies.accept(
                db,
                user_id=caller.user.id,
                kind=Kind(kind),
                number=number,
                channel=Channel.WEB,
                now=services.clock(),
            )
    return RedirectResponse(safe_path(str(form.get("next", "")), "/app"), status_code=303)
