"""The mails of the sales side, as text (and HTML for a quote). Pure: no database, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time

from camtel.sales.pricing import Line, PriceTable, Quote


def money(amount: Decimal, currency: str) -> str:
    """1,234.50 EUR"""
    return f"{amount:,.2f} {currency}"


def line_label(table: PriceTable, line: Line) -> str:
    """What a line is, in words (English, as mails are)."""
    if line.code == "devices":
        product = table.buy if line.billing == "once" else table.rent
        return f"{product.label.en}, devices {line.first}\N{EN DASH}{line.last}"
    option = table.options.get(line.code)
    return option.label.en if option else line.label


def summary(quote: Quote) -> str:
    """One sentence: "Rent 12 devices for 24 months, with: ..." """
    what = (
        f"Buy {quote.devices} devices"
        if quote.mode == "buy"
        else f"Rent {quote.devices} devices for {quote.months} months"
    )
    return what + (f", with options: {', '.join(quote.options)}" if quote.options else "")


def _rows(table: PriceTable, quote: Quote) -> list[tuple[str, str, str]]:
    """(label, quantity x unit price, amount) for every line and total."""
    c = quote.currency
    rows = []
    for line in quote.lines:
        each = " a month" if line.billing == "monthly" else ""
        rows.append(
            (
                line_label(table, line),
                f"{line.quantity} \N{MULTIPLICATION SIGN} {money(line.unit_price, c)}{each}",
                f"{money(line.amount, c)}{each}",
            )
        )
    if quote.mode == "rent":
        rows.append(("Net over the lease", f"{quote.months} months", money(quote.net, c)))
    else:
        rows.append(("Net", "", money(quote.net, c)))
    rows.append((f"VAT {quote.vat_percent} %", "", money(quote.vat, c)))
    rows.append(("Total with VAT", "", money(quote.total, c)))
    if quote.monthly is not None:
        rows.append(("Each month, with VAT", "", f"{money(quote.monthly, c)} a month"))
    return rows


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str | None = None


def quote_mail(
    table: PriceTable, quote: Quote, *, name: str, reference: str, forget_url: str, until: datetime
) -> Mail:
    """The saved quote, to the visitor."""
    rows = _rows(table, quote)
    width = max(len(label) for label, _, _ in rows)
    listing = "\n".join(
        f"  {label:<{width}}  {detail:<28}  {amount:>24}".rstrip() for label, detail, amount in rows
    )
    kept = until.date().isoformat()
    text = (
        f"Hello {name},\n\nthank you for your interest in camtel. This is the quote you saved:\n\n"
        f"  {summary(quote)}\n\n{listing}\n\n"
        f"Prices from price table {quote.version}. We will contact you about this quote.\n\n"
        f"Reference: {reference}\n"
        f"We keep your details for 12 months (until {kept}). To delete them now, open "
        f"{forget_url}\n"
    )
    cells = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(detail)}</td>"
        f'<td style="text-align:right">{escape(amount)}</td></tr>'
        for label, detail, amount in rows
    )
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Your camtel quote</title></head><body>"
        f"<p>Hello {escape(name)},</p>"
        "<p>thank you for your interest in camtel. This is the quote you saved:</p>"
        f"<p><strong>{escape(summary(quote))}</strong></p>"
        '<table cellpadding="6" style="border-collapse:collapse">'
        "<thead><tr><th align=left>Item</th><th align=left>Quantity</th>"
        f"<th align=right>Amount</th></tr></thead><tbody>{cells}</tbody></table>"
        f"<p>Prices from price table {escape(quote.version)}. "
        "We will contact you about this quote.</p>"
        f"<p>Reference: {escape(reference)}<br>We keep your details for 12 months (until "
        f'{escape(kept)}). <a href="{escape(forget_url)}">Delete them now</a>.</p>'
        "</body></html>"
    )
    return Mail("Your camtel quote", text, html)


def new_lead_mail(
    quote: Quote,
    *,
    name: str,
    email: str,
    company: str,
    phone: str,
    message: str,
    reference: str,
    admin_url: str,
) -> Mail:
    """A new lead, to the sales team."""
    text = (
        f"A visitor saved a quote and asked to be contacted.\n\n"
        f"Reference: {reference}\nName: {name}\nEmail: {email}\n"
        f"Company: {company or '-'}\nPhone: {phone or '-'}\n\n"
        f"{summary(quote)}\nTotal with VAT: {money(quote.total, quote.currency)}"
        + (f"; {money(quote.monthly, quote.currency)} a month" if quote.monthly else "")
        + (f"\n\nMessage:\n{message}" if message else "")
        + f"\n\nAll leads: {admin_url}\n"
    )
    return Mail(f"[camtel lead] {company or name}"[:200], text)


def when(start: datetime, end: datetime, time_zone: str) -> str:
    """Monday, 14 December 2026, 10:00-10:30 (Europe/Berlin)"""
    tz = ZoneInfo(time_zone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = format_datetime(local_start, "EEEE, d MMMM y, HH:mm", locale="en")
    return f"{day}\N{EN DASH}{format_time(local_end, 'HH:mm', locale='en')} ({time_zone})"


def booking_mail(
    *, name: str, start: datetime, end: datetime, time_zone: str, cancel_url: str, reference: str
) -> Mail:
    """The confirmation of a booked demo, to the visitor (the invitation is attached)."""
    utc = when(start, end, "UTC")
    text = (
        f"Hello {name},\n\nyour camtel demo is booked:\n\n  {when(start, end, time_zone)}\n"
        + (f"  ({utc})\n" if time_zone != "UTC" else "")
        + "\nThe invitation is attached (invite.ics): open it to add the demo to your "
        "calendar. We will send you the link to join before the demo.\n\n"
        f"Reference: {reference}\nCannot make it? Cancel here, and the time is free for "
        f"someone else: {cancel_url}\n"
    )
    return Mail("Your camtel demo", text)


def new_booking_mail(
    *,
    name: str,
    email: str,
    company: str,
    message: str,
    start: datetime,
    end: datetime,
    team_zone: str,
    reference: str,
    admin_url: str,
) -> Mail:
    """A new booking, to the sales team."""
    text = (
        f"A demo was booked.\n\n{when(start, end, team_zone)}\n\nReference: {reference}\n"
        f"Name: {name}\nEmail: {email}\nCompany: {company or '-'}\n"
        + (f"\nMessage:\n{message}\n" if message else "")
        + f"\nAll bookings: {admin_url}\n"
    )
    return Mail(f"[camtel demo] {when(start, end, team_zone)}"[:200], text)


def cancelled_mail(*, name: str, start: datetime, end: datetime, time_zone: str) -> Mail:
    """A cancelled demo, to the visitor (the cancellation is attached for their calendar)."""
    text = (
        f"Hello {name},\n\nyour camtel demo on {when(start, end, time_zone)} is cancelled, as "
        "you asked. The attached file removes it from your calendar. You are welcome to book "
        "another time.\n"
    )
    return Mail("Your camtel demo is cancelled", text)
