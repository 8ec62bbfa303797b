"""The privacy centre (`/app/privacy`): consents, the export, who saw one's data, sign-ins and
sessions, the email address, retention and storage, guardians, deleting the account; and the
pages the mails and the deletion lead to (`/email-change`, `/goodbye`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse

from camtel.accounts import email_change, organizations
from camtel.accounts.age import AgeBasis
from camtel.accounts.ratelimit import peer_address
from camtel.accounts.service import is_minor
from camtel.config import Settings
from camtel.errors import CamtelError, Conflict
from camtel.media.cleanup import KEEP_DAYS
from camtel.privacy import minors, retention
from camtel.privacy.registry import REGISTRY
from camtel.web.account import MAX_TOKEN
from camtel.web.pages import MaybeSignedIn, PageServices, SignedIn, app_page
from camtel.web.render import render, request_language

router = APIRouter(include_in_schema=False)

Gettext = Callable[[str], str]


def period(days: int, _: Gettext) -> str:
    """A number of days in words: "1 day", "30 days", "1 year", "5 years". Pure."""
    if days >= 365 and days % 365 == 0:
        years = days // 365
        return _("1 year") if years == 1 else _("%(count)s years") % {"count": years}
    return _("1 day") if days == 1 else _("%(count)s days") % {"count": days}


def swept_after(table: str) -> int:
    """The days camtel keeps a table's rows by default, from the registry's sweep rule."""
    rules = REGISTRY[table].sweep
    days = rules[0].days if rules else None
    if days is None:
        raise ValueError(f"{table} has no rule in days")
    return days


@dataclass
class Row:
    """One line of the retention table: what, for how long, and organisations' own choices."""

    what: str
    kept: str
    own: list[str] = field(default_factory=list)  # "Fleet Nord: 30 days"


def retention_rows(
    settings: Settings,
    chosen: dict[str, list[tuple[str, int]]],
    _: Gettext,
) -> list[Row]:
    """The retention in force for a person, in plain words. `chosen`: per target (a table or
    a recording category, `camtel.privacy.retention.overridable`), the organisations of the
    person that set their own days, as (name, days)."""

    def days_of(target: str, default: int, what: str) -> Row:
        own = [
            _("%(organisation)s keeps them %(period)s")
            % {"organisation": n, "period": period(d, _)}
            for n, d in chosen.get(target, [])
        ]
        return Row(what, period(default, _), own)

    session_days = max(1, settings.session_ttl_hours // 24)
    return [
        days_of(
            "positions",
            swept_after("positions"),
            _("Positions of your vehicles (live map, trips, history)"),
        ),
        days_of(
            "events",
            swept_after("events"),
            _("Events and alerts (fences crossed, speeding, alarms)"),
        ),
        days_of("media.normal", KEEP_DAYS["normal"], _("Recordings")),
        days_of("media.event", KEEP_DAYS["event"], _("Event recordings and recordings you locked")),
        Row(
            _("Share links to recordings"),
            _("Until they expire or you revoke them; then listed for you %(period)s more")
            % {"period": period(settings.share_keep_days, _)}
            if settings.share_keep_days
            else _("Until they expire or you revoke them"),
        ),
        days_of("inbox_items", swept_after("inbox_items"), _("Notifications in the app")),
        days_of("outbox_mail", swept_after("outbox_mail"), _("Mail camtel sent you")),
        days_of("access_log", swept_after("access_log"), _("Your sign-ins and failed attempts")),
        days_of(
            "device_access_log", swept_after("device_access_log"), _("Connections of your devices")
        ),
        Row(_("Who saw your data"), period(swept_after("access_audit"), _)),
        Row(_("Problem reports (diagnostics)"), period(settings.diagnostics_retention_days, _)),
        Row(
            _("Messages to the data-protection officer"),
            period(settings.contact_retention_days, _),
        ),
        Row(
            _("Sessions (signed-in browsers and apps)"),
            _("Until you sign out, at most %(period)s") % {"period": period(session_days, _)},
        ),
        Row(
            _("Your account, profile and consent decisions"),
            _("Until you delete your account"),
        ),
        Row(
            _("Devices, groups and geofences"),
            _("Until your organisation deletes them"),
        ),
        Row(
            _("Records that your requests were answered, and the registers of disclosures"),
            _("3 years, without your identity once your account is deleted"),
        ),
        Row(
            _("The register of data breaches that concerned you"),
            _("5 years, without your identity once your account is deleted"),
        ),
    ]


def region_text(settings: Settings, _: Gettext) -> str:
    region = settings.storage_region.strip()
    if not region or region == "local":
        return _("On this camtel server itself (its operator has named no region)")
    return region


@router.get("/app/privacy")
async def privacy_page(request: Request, services: PageServices, caller: SignedIn) -> HTMLResponse:
    _ = request_language(request).gettext
    user = caller.user
    today = services.clock().date()
    async with services.database.session() as db:
        memberships = await organizations.list_for(db, caller=caller)
        chosen: dict[str, list[tuple[str, int]]] = {}
        for org, _role in memberships:
            for target, days in (await retention.overrides_of(db, org.id)).items():
                chosen.setdefault(target, []).append((org.name, days))
        has_wards = bool(await minors.wards(db, user.id))
    settings = services.settings
    return app_page(
        request,
        services,
        caller,
        "privacy.html",
        scripts=("privacy.js", "privacy-rights.js", "privacy-age.js"),
        email=user.email,
        totp_enabled=user.totp_enabled,
        minor=is_minor(user, today),
        age_unstated=user.age_basis == AgeBasis.UNSTATED,
        guardian_linked=user.guardian_id is not None,
        has_wards=has_wards,
        rows=retention_rows(settings, chosen, _),
        region=region_text(settings, _),
        page_data={
            "minor": is_minor(user, today),
            "diagnosticsDays": settings.diagnostics_retention_days,
        },
    )


@router.get("/email-change")
async def email_change_page(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    background: BackgroundTasks,
    token: str = "",
) -> HTMLResponse:
    """The link in the mail to a new address: confirms the change here, and says so. The
    session the link is opened in stays signed in; every other one ends."""
    outcome = "invalid"
    if services.limiters.per_address.hit(peer_address(request)) is not None:
        outcome = "limited"
    elif token and len(token) <= MAX_TOKEN:
        try:
            async with services.database.session() as db:
                await email_change.confirm_change(
                    db,
                    services.mailer,
                    token=token,
                    now=services.clock(),
                    keep_session=caller.session.id if caller and caller.session else None,
                )
            outcome = "changed"
            background.add_task(services.mailer.deliver_pending)  # the notice to the old one
        except Conflict:
            outcome = "taken"
        except CamtelError:
            outcome = "invalid"
    statuses = {"changed": 200, "taken": 409, "limited": 429, "invalid": 400}
    return render(
        request,
        "email_change.html",
        settings=services.settings,
        caller=caller,
        status_code=statuses[outcome],
        outcome=outcome,
        spent_query=("token",),
    )


@router.get("/goodbye")
async def goodbye_page(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> HTMLResponse:
    """Where the privacy centre goes once the account is deleted."""
    return render(request, "goodbye.html", settings=services.settings, caller=caller)
