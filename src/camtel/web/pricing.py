"""The pricing page: the quote calculator (buy or rent, devices, lease months, options), priced
on the server by the same function as `POST /api/v1/quotes`, and saving a quote as a lead.

Without JavaScript the calculator is a GET form (`?mode=&devices=&months=&options=`) and saving
is a plain POST; with it, pricing.js asks the API as the visitor types. The server judges the
input either way, and its refusals are shown at their fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_currency, format_decimal
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from camtel.accounts.ratelimit import peer_address
from camtel.errors import CamtelError, RateLimited
from camtel.sales import catalogue, leads
from camtel.sales.pricing import MAX_DEVICES, Line, PriceTable, Quote, QuoteRequest, quote
from camtel.sales.schemas import LeadIn
from camtel.web.formpost import check_post
from camtel.web.i18n import Language
from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.public import INDEXABLE
from camtel.web.public_forms import field_errors, form_fields, listed
from camtel.web.render import render, request_language

router = APIRouter(include_in_schema=False)

#: What the calculator shows before the visitor chooses anything.
DEFAULTS: dict[str, Any] = {"mode": "buy", "devices": "10", "months": "36", "options": []}
#: Capability links (the token deletes a lead): never sent on as a referrer. (Its page's form
#: post then names no origin; it needs no post check, as the token itself is the proof.)
PRIVATE = {"Referrer-Policy": "no-referrer"}


def money(amount: Decimal | int | str, currency: str, lang: Language) -> str:
    return format_currency(Decimal(amount), currency, locale=lang.code)


def either(lang: Language, choices: list[int]) -> str:
    """The choices as "12, 24 or 36", in the page's language."""
    words = [str(choice) for choice in choices]
    if len(words) < 2:
        return "".join(words)
    return lang.gettext("{some} or {last}").format(some=", ".join(words[:-1]), last=words[-1])


def quote_messages(lang: Language, table: PriceTable, errors: dict[str, str]) -> dict[str, str]:
    """The refusals of a quote request, in the page's words: {field: message}."""
    _ = lang.gettext
    out: dict[str, str] = {}
    for field, reason in errors.items():
        if field == "devices":
            out[field] = _("Enter a whole number of devices from 1 to 10,000.")
        elif field == "months":
            lengths = either(lang, table.lease_lengths)
            out[field] = _("To rent, enter a lease of {lengths} months.").format(lengths=lengths)
        elif field == "options":
            out[field] = (
                _("Choose at most one SD card size.")
                if reason.startswith("choose at most one")
                else _("Choose options from the list only.")
            )
        elif field == "mode":
            out[field] = _("Choose Buy or Rent.")
        else:
            out[field] = reason
    return out


def line_view(table: PriceTable, line: Line, currency: str, lang: Language) -> dict[str, Any]:
    _ = lang.gettext
    if line.code == "devices":
        product = (table.buy if line.billing == "once" else table.rent).label.get(lang.code)
        label = (
            _("{product}, device {number}").format(product=product, number=line.first)
            if line.first == line.last
            else _("{product}, devices {first}\N{EN DASH}{last}").format(
                product=product, first=line.first, last=line.last
            )
        )
    else:
        option = table.options.get(line.code)
        label = option.label.get(lang.code) if option else line.label
    unit, amount = money(line.unit_price, currency, lang), money(line.amount, currency, lang)
    if line.billing == "monthly":
        unit, amount = (_("{amount} a month").format(amount=a) for a in (unit, amount))
    count = format_decimal(line.quantity, locale=lang.code)
    return {
        "label": label,
        "detail": f"{count} \N{MULTIPLICATION SIGN} {unit}",
        "amount": amount,
    }


def quote_view(table: PriceTable, priced: Quote, lang: Language) -> dict[str, Any]:
    """What the page shows of a quote: its lines and totals, formatted in the page's language."""
    _ = lang.gettext
    c = priced.currency
    totals = []
    if priced.mode == "rent":
        if priced.once_net:
            totals.append((_("One-off, net"), money(priced.once_net, c, lang)))
        monthly = money(priced.monthly_net or 0, c, lang)
        totals.append((_("Each month, net"), _("{amount} a month").format(amount=monthly)))
        totals.append(
            (_("Net over {months} months").format(months=priced.months), money(priced.net, c, lang))
        )
    else:
        totals.append((_("Net"), money(priced.net, c, lang)))
    vat_label = _("VAT {percent} %").format(percent=f"{priced.vat_percent.normalize():f}")
    totals.append((vat_label, money(priced.vat, c, lang)))
    total_label = (
        _("Total over {months} months, with VAT").format(months=priced.months)
        if priced.mode == "rent"
        else _("Total, with VAT")
    )
    after = None
    if priced.monthly is not None:
        each = money(priced.monthly, c, lang)
        after = (
            _("Each month, with VAT: {amount}").format(amount=each)
            if priced.mode == "rent"
            else _("Plus each month, with VAT, for the monthly services: {amount}").format(
                amount=each
            )
        )
    return {
        "lines": [line_view(table, line, c, lang) for line in priced.lines],
        "totals": totals,
        "total_label": total_label,
        "total": {"amount": str(priced.total), "text": money(priced.total, c, lang)},
        "currency": c,
        "after": after,
    }


def option_view(table: PriceTable, lang: Language, mode: str) -> dict[str, Any]:
    """The options as the form lists them: single ones, then each group of choices."""
    _ = lang.gettext
    c = table.currency

    def hint(code: str) -> str:
        price = table.options[code].price("rent" if mode == "rent" else "buy")
        parts = []
        if price.once:
            parts.append(_("{price} once per device").format(price=money(price.once, c, lang)))
        if price.monthly:
            monthly = money(price.monthly, c, lang)
            parts.append(_("{price} a month per device").format(price=monthly))
        return ", ".join(parts) or _("included")

    single = [
        {"code": code, "label": option.label.get(lang.code), "hint": hint(code)}
        for code, option in table.options.items()
        if not option.group
    ]
    groups = [
        {
            "name": name,
            "label": table.groups[name].get(lang.code) if name in table.groups else name,
            "choices": [
                {
                    "code": code,
                    "label": table.options[code].label.get(lang.code),
                    "hint": hint(code),
                }
                for code in members
            ],
        }
        for name, members in table.grouped().items()
    ]
    return {"single": single, "groups": groups}


def script_data(table: PriceTable, lang: Language) -> dict[str, Any]:
    """What pricing.js needs to show prices as the server would."""
    return {
        "currency": table.currency,
        "leaseMonths": table.lease_lengths,
        "maxDevices": MAX_DEVICES,
        "products": {
            "buy": table.buy.label.get(lang.code),
            "rent": table.rent.label.get(lang.code),
        },
        "options": {
            code: {
                "label": option.label.get(lang.code),
                "buy": {k: str(v) for k, v in option.price("buy").model_dump().items()},
                "rent": {k: str(v) for k, v in option.price("rent").model_dump().items()},
            }
            for code, option in table.options.items()
        },
    }


def _request_form(
    mode: str | None, devices: str | None, months: str | None, options: list[str]
) -> dict[str, Any]:
    asked = mode is not None or devices is not None or months is not None or options
    if not asked:
        return dict(DEFAULTS)
    return {
        "mode": mode if mode is not None else DEFAULTS["mode"],
        "devices": devices if devices is not None else DEFAULTS["devices"],
        "months": months if months not in (None, "") else DEFAULTS["months"],
        "options": [o for o in options if o],
    }


def priced_or_errors(
    table: PriceTable, form: dict[str, Any]
) -> tuple[Quote | None, dict[str, str]]:
    """The quote of a form's values, or the English reasons by field."""
    values = dict(form)
    if values.get("mode") != "rent":
        values["months"] = None  # the months box is there, but only renting reads it
    try:
        return quote(table, QuoteRequest.model_validate(values)), {}
    except (ValidationError, CamtelError) as exc:
        return None, field_errors(exc)


def _page(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    *,
    form: dict[str, Any],
    contact: dict[str, Any] | None = None,
    contact_errors: dict[str, str] | None = None,
    saved: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    table = catalogue.load(services.settings.price_table)
    lang = request_language(request)
    priced, reasons = priced_or_errors(table, form)
    return render(
        request,
        "pricing.html",
        settings=services.settings,
        caller=caller,
        status_code=status_code,
        headers=INDEXABLE,
        scripts=("pricing.js",),
        page_data=script_data(table, lang),
        form=form,
        errors=quote_messages(lang, table, reasons),
        quote=quote_view(table, priced, lang) if priced else None,
        options=option_view(table, lang, form.get("mode", "buy")),
        lease_months=table.lease_lengths,
        lease_text=either(lang, table.lease_lengths),
        currency=table.currency,
        vat_percent=f"{table.vat_percent.normalize():f}",
        consent_text=leads.CONSENT_TEXTS[lang.code],
        contact=contact or {},
        contact_errors=contact_errors or {},
        saved=saved,
    )


@router.get("/pricing")
async def pricing_page(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    mode: str | None = None,
    devices: str | None = None,
    months: str | None = None,
    options: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 - FastAPI copies it
) -> HTMLResponse:
    table = catalogue.load(services.settings.price_table)
    # A group of exclusive options (one SD card size) is a radio group named after the group.
    chosen = [*options, *(request.query_params.get(group, "") for group in table.grouped())]
    form = _request_form(mode, devices, months, [o for o in chosen if o])
    return _page(request, services, caller, form=form)


def contact_messages(lang: Language, reasons: dict[str, str]) -> dict[str, str]:
    """Refusals of the contact details, in the page's words."""
    _ = lang.gettext
    words = {
        "name": _("Enter your name."),
        "email": _("Enter a valid email address."),
        "company": _("Use at most {count} characters.").format(count=200),
        "phone": _("Enter a phone number with digits, spaces and + ( ) - / only."),
        "message": _("Use at most {count} characters.").format(count=2000),
        "consent": _("Tick the box so that we may keep your details and contact you."),
        "marketing": _("Product news can be chosen only when signed in."),
    }
    return {field: words.get(field, reason) for field, reason in reasons.items()}


@router.post("/pricing/save")
async def save_quote(
    request: Request,
    services: PageServices,
    caller: MaybeSignedIn,
    background: BackgroundTasks,
) -> HTMLResponse:
    """Save the quote shown with the contact details (the form without JavaScript)."""
    fields = await form_fields(request)
    check_post(request, caller, str(fields.get("csrf", "")), services.settings.public_url)
    form = {
        "mode": fields.get("mode", ""),
        "devices": fields.get("devices", ""),
        "months": fields.get("months", ""),
        "options": listed(fields.get("options", [])),
    }
    contact = {k: fields.get(k, "") for k in ("name", "email", "company", "phone", "message")}
    lang = request_language(request)
    table = catalogue.load(services.settings.price_table)
    priced, _reasons = priced_or_errors(table, form)
    if priced is None:
        return _page(request, services, caller, form=form, contact=contact, status_code=422)
    try:
        details = LeadIn.model_validate(
            {
                **contact,
                "quote": {**form, "months": form["months"] if form["mode"] == "rent" else None},
                "consent": fields.get("consent") in ("yes", "on", "true"),
                "marketing": fields.get("marketing") in ("yes", "on", "true"),
                "language": lang.code,
            }
        )
        services.limiters.per_address.check(peer_address(request))
        async with services.database.session() as db:
            saved = await leads.save(
                db,
                services.mailer,
                table=table,
                details=details,
                caller=caller.user if caller else None,
                base_url=services.settings.base_url,
                sales_email=catalogue.sales_address(services.settings),
                now=services.clock(),
                retention_days=services.settings.lead_retention_days,
            )
            if details.marketing and caller is not None:
                await leads.record_marketing(db, user_id=caller.user.id, now=services.clock())
    except RateLimited:
        _ = lang.gettext
        errors = {"": _("Too many attempts; wait a few minutes and try again.")}
        return _page(
            request,
            services,
            caller,
            form=form,
            contact=contact,
            contact_errors=errors,
            status_code=429,
        )
    except (ValidationError, CamtelError) as exc:
        errors = contact_messages(lang, field_errors(exc))
        return _page(
            request,
            services,
            caller,
            form=form,
            contact=contact,
            contact_errors=errors,
            status_code=422,
        )
    background.add_task(services.mailer.deliver_pending)
    done = {"email": saved.lead.email, "reference": str(saved.lead.id)}
    return _page(request, services, caller, form=form, saved=done, status_code=201)


@router.get("/pricing/saved")
async def saved_quote_page(
    request: Request, services: PageServices, caller: MaybeSignedIn, token: str = ""
) -> HTMLResponse:
    """The link in the quote mail: the saved quote, and a button that deletes it."""
    async with services.database.session() as db:
        row = await leads.by_token(db, token)
    lang = request_language(request)
    shown = None
    if row is not None:
        table = catalogue.load(services.settings.price_table)
        shown = {
            "created_at": row.created_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
            "quote": row.quote,
            "total": money(row.quote.get("total", "0"), row.quote.get("currency", "EUR"), lang),
            "summary": summary_text(table, row.quote, lang),
        }
    return render(
        request,
        "saved_quote.html",
        settings=services.settings,
        caller=caller,
        status_code=200 if row else 404,
        headers=PRIVATE,
        lead=shown,
        token=token[:128],
        deleted=False,
    )


@router.post("/pricing/saved")
async def forget_quote(
    request: Request, services: PageServices, caller: MaybeSignedIn
) -> HTMLResponse:
    """Delete a saved quote and its contact details, by the link in its mail. The unguessable
    token is what authorises it, so another site cannot forge the post."""
    fields = await form_fields(request)
    token = str(fields.get("token", ""))
    async with services.database.session() as db:
        deleted = await leads.forget(db, token)
    return render(
        request,
        "saved_quote.html",
        settings=services.settings,
        caller=caller,
        status_code=200 if deleted else 404,
        headers=PRIVATE,
        lead=None,
        token="",
        deleted=deleted,
    )


def summary_text(table: PriceTable, snapshot: dict[str, Any], lang: Language) -> str:
    """ "Rent 12 devices for 24 months" in the page's language, from a stored quote."""
    _ = lang.gettext
    devices, months = snapshot.get("devices", 0), snapshot.get("months")
    text = (
        _("Rent {devices} devices for {months} months").format(devices=devices, months=months)
        if snapshot.get("mode") == "rent"
        else _("Buy {devices} devices").format(devices=devices)
    )
    names = [
        table.options[code].label.get(lang.code) if code in table.options else code
        for code in snapshot.get("options", [])
    ]
    return f"{text}: {', '.join(names)}" if names else text
