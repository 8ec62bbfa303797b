"""The organisation admin: members and invitations, groups and drivers, retention and legal
holds for owners and managers; policies and the privacy registers for operators.

Every route checks the role here, on the server (403 page otherwise); the forms call the JSON
API, which checks the role again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from starlette.routing import Match

from camtel.accounts import invitations, organizations
from camtel.accounts.caller import Caller
from camtel.accounts.models import Membership
from camtel.accounts.roles import Role, can_manage_devices
from camtel.errors import Forbidden, NotFound
from camtel.privacy import holds, retention
from camtel.privacy.breaches import deadline_state
from camtel.privacy.models import Breach
from camtel.privacy.registry import Category
from camtel.privacy.rights_models import PrivacyRequest
from camtel.services import Services
from camtel.web.pages import PageServices, SignedIn, app_page

router = APIRouter(include_in_schema=False)

#: The sales engineer's page (leads and demo bookings), linked for operators.
SALES_PATH = "/app/admin/sales"


def manages(role: Role) -> bool:
    """Owners and managers run an organisation's admin pages."""
    return can_manage_devices(role)


def may_administer(caller: Caller) -> bool:
    """Whether the Admin link is shown: owners and managers of any organisation, operators."""
    return caller.user.is_admin or any(manages(role) for role in caller.roles.values())


@dataclass(frozen=True, slots=True)
class Scope:
    """What an admin page works on: the organisations the person runs, the one chosen (None
    on operator pages without one), and whether they are an operator."""

    organizations: list[dict[str, str]]
    chosen: dict[str, str] | None
    operator: bool

    def nav(self, path: str, *, sales: bool = True) -> list[dict[str, Any]]:
        """The admin sections this person may open, each with its address (`sales`: whether
        the sales page is served by this app)."""
        query = f"?org={self.chosen['id']}" if self.chosen and len(self.organizations) > 1 else ""
        sections: list[tuple[str, str]] = [("/app/admin", "overview")]
        if self.organizations:
            sections += [
                ("/app/admin/members", "members"),
                ("/app/admin/devices", "devices"),
                ("/app/admin/retention", "retention"),
            ]
        if self.operator:
            sections += [("/app/admin/privacy", "privacy"), ("/app/admin/policies", "policies")]
            if sales:
                sections.append((SALES_PATH, "sales"))
        return [
            {
                "href": href + (query if href != SALES_PATH else ""),
                "key": key,
                "current": path == href,
            }
            for href, key in sections
        ]


async def admin_scope(
    services: Services, caller: Caller, org: str | None, *, need_org: bool, need_operator: bool
) -> Scope:
    """The page's scope, or Forbidden (a 403 page) when the person's role does not allow it."""
    async with services.database.session() as db:
        memberships = await organizations.list_for(db, caller=caller)
    managed = [
        {"id": str(o.id), "name": o.name, "role": str(role)}
        for o, role in memberships
        if manages(role)
    ]
    operator = caller.user.is_admin
    if need_operator and not operator:
        raise Forbidden("only operators open this page")
    if not managed and not operator:
        raise Forbidden("only owners and managers open the admin pages")
    chosen = managed[0] if managed else None
    if org:
        try:
            wanted = uuid.UUID(org)
        except ValueError:
            raise NotFound("organization not found") from None
        role = caller.roles.get(wanted)
        if role is None:
            raise NotFound("organization not found")
        if not manages(role):
            raise Forbidden(f"a {role} may not administer this organisation")
        chosen = next(m for m in managed if m["id"] == str(wanted))
    if need_org and chosen is None:
        raise Forbidden("only owners and managers open this page")
    return Scope(managed, chosen, operator)


def served(request: Request, path: str) -> bool:
    """Whether this app answers GET `path` (the sales page is another module's: it is linked
    once it is served)."""
    probe = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(probe)[0] is Match.FULL for route in request.app.routes)


def admin_page(
    request: Request,
    services: Services,
    caller: Caller,
    scope: Scope,
    template: str,
    *,
    script: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """An admin page: the section tabs, the organisation switch, the page's script and data."""
    data = {
        "organization": scope.chosen,
        "operator": scope.operator,
        "me": str(caller.user.id),
        **context.pop("page_data", {}),
    }
    sections = scope.nav(request.url.path, sales=served(request, SALES_PATH))
    return app_page(
        request,
        services,
        caller,
        template,
        scripts=(script,) if script else (),
        admin=scope,
        sections=sections,
        links={section["key"]: section["href"] for section in sections},
        page_data=data,
        **context,
    )


@router.get("/app/admin")
async def overview(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=False, need_operator=False)
    facts: dict[str, Any] = {}
    now = services.clock()
    async with services.database.session() as db:
        if scope.chosen:
            org_id = uuid.UUID(scope.chosen["id"])
            facts["members"] = await db.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.organization_id == org_id)
            )
            facts["invitations"] = len(
                await invitations.pending_for_organization(
                    db, caller=caller, organization_id=org_id, now=now
                )
            )
            facts["holds"] = sum(
                1 for h in await holds.of_organization(db, org_id) if h.released_at is None
            )
            facts["overrides"] = len(await retention.overrides_of(db, org_id))
        if scope.operator:
            open_requests = list(
                await db.scalars(
                    select(PrivacyRequest.due_at).where(PrivacyRequest.completed_at.is_(None))
                )
            )
            facts["requests"] = len(open_requests)
            facts["requests_overdue"] = sum(1 for due in open_requests if _before(due, now))
            breaches = list(await db.scalars(select(Breach).limit(1000)))
            facts["breaches_open"] = sum(
                1
                for b in breaches
                if deadline_state(b.detected_at, b.authority_notified_at, now)["status"]
                in ("open", "overdue")
            )
    return admin_page(request, services, caller, scope, "admin_overview.html", facts=facts)


def _before(moment: datetime, now: datetime) -> bool:
    # SQLite hands back naive UTC times.
    return (moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)) < now


@router.get("/app/admin/members")
async def members(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=True, need_operator=False)
    return admin_page(
        request, services, caller, scope, "admin_members.html", script="admin-members.js"
    )


@router.get("/app/admin/devices")
async def devices(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=True, need_operator=False)
    return admin_page(
        request, services, caller, scope, "admin_devices.html", script="admin-devices.js"
    )


@router.get("/app/admin/retention")
async def retention_page(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=True, need_operator=False)
    return admin_page(
        request, services, caller, scope, "admin_retention.html", script="admin-retention.js"
    )


@router.get("/app/admin/privacy")
async def privacy_registers(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=False, need_operator=True)
    return admin_page(
        request,
        services,
        caller,
        scope,
        "admin_privacy.html",
        script="admin-privacy.js",
        operator_page=True,
        page_data={"categories": [c.value for c in Category]},
    )


@router.get("/app/admin/policies")
async def policies_page(
    request: Request, services: PageServices, caller: SignedIn, org: str | None = None
) -> HTMLResponse:
    scope = await admin_scope(services, caller, org, need_org=False, need_operator=True)
    return admin_page(
        request,
        services,
        caller,
        scope,
        "admin_policies.html",
        script="admin-policies.js",
        operator_page=True,
    )
