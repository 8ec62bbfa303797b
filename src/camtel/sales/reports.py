"""Leads and demo bookings as rows for the sales team: JSON shapes and CSV (safe to open in a
spreadsheet: a cell that would start a formula is prefixed with an apostrophe). Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from camtel.sales.models import DemoBooking, Lead

#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A CSV cell: text as is, unless a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def lead_row(row: Lead) -> dict[str, Any]:
    quote = row.quote or {}
    return {
        "id": str(row.id),
        "created_at": row.created_at.isoformat(),
        "name": row.name,
        "email": row.email,
        "company": row.company,
        "phone": row.phone,
        "message": row.message,
        "mode": quote.get("mode"),
        "devices": quote.get("devices"),
        "months": quote.get("months"),
        "options": list(quote.get("options") or []),
        "currency": quote.get("currency"),
        "total": quote.get("total"),
        "monthly": quote.get("monthly"),
        "quote": quote,
        "consent_version": row.consent_version,
        "language": row.language,
        "expires_at": row.expires_at.isoformat(),
    }


def booking_row(row: DemoBooking) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "created_at": row.created_at.isoformat(),
        "start": row.starts_at.isoformat(),
        "end": row.ends_at.isoformat(),
        "name": row.name,
        "email": row.email,
        "company": row.company,
        "message": row.message,
        "time_zone": row.time_zone,
        "language": row.language,
        "expires_at": row.expires_at.isoformat(),
    }


LEAD_COLUMNS = (
    "id", "created_at", "name", "email", "company", "phone", "mode", "devices", "months",
    "options", "currency", "total", "monthly", "message", "consent_version", "language",
    "expires_at",
)  # fmt: skip
BOOKING_COLUMNS = (
    "id", "start", "end", "name", "email", "company", "message", "time_zone", "language",
    "created_at", "expires_at",
)  # fmt: skip


def as_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV with a header line; lists joined with spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            cell(" ".join(value) if isinstance(value := row.get(name), list) else value)
            for name in columns
        )
    return out.getvalue()
