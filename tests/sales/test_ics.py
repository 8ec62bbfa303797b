"""The calendar invitation of a demo: RFC 5545 lines (CRLF, folded at 75 octets, escaped
text), times in UTC, and a cancellation that calendars recognise. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from camtel.sales.ics import Invitation, calendar, escape, fold


def unfold(text: str) -> list[str]:
    """The content lines of an iCalendar text (RFC 5545 3.1)."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def fields(text: str) -> dict[str, str]:
    out = {}
    for line in unfold(text):
        name, _, value = line.partition(":")
        out.setdefault(name.split(";")[0], value)
    return out


DEMO = Invitation(
    uid="demo-1@camtel.example",
    start=datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
    end=datetime(2026, 12, 14, 9, 30, tzinfo=UTC),
    summary="camtel demo",
    description="Line one\nWith; semicolons, commas and a \\ backslash — and ünïcode " * 3,
    location="Online",
    attendee_name='Zoë "Z" Müller',
    attendee_email="zoe@example.com",
    organizer_email="sales@camtel.example",
)
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def test_an_invitation_is_valid_icalendar():
    text = calendar(DEMO, now=NOW)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    got = fields(text)
    assert got["METHOD"] == "REQUEST" and got["UID"] == "demo-1@camtel.example"
    assert got["DTSTART"] == "20261214T090000Z" and got["DTEND"] == "20261214T093000Z"
    assert got["DTSTAMP"] == "20261207T060000Z"
    assert got["DESCRIPTION"].startswith("Line one\\nWith\\; semicolons\\, commas and a \\\\")
    assert "ünïcode" in got["DESCRIPTION"]
    attendee = next(line for line in unfold(text) if line.startswith("ATTENDEE"))
    assert 'CN="Zoë Z Müller"' in attendee and attendee.endswith("mailto:zoe@example.com")
    assert unfold(text)[0] == "BEGIN:VCALENDAR" and unfold(text)[-1] == "END:VCALENDAR"


def test_a_cancellation_and_a_published_event_without_an_organiser():
    cancel = fields(calendar(DEMO, now=NOW, method="CANCEL"))
    assert cancel["METHOD"] == "CANCEL" and cancel["STATUS"] == "CANCELLED"
    plain = replace(DEMO, organizer_email="")
    published = fields(calendar(plain, now=NOW))
    assert published["METHOD"] == "PUBLISH" and "ORGANIZER" not in published
    assert fields(calendar(plain, now=NOW, method="CANCEL"))["STATUS"] == "CANCELLED"


def test_folding_never_splits_a_character():
    line = "DESCRIPTION:" + "€" * 60
    folded = fold(line)
    assert folded.replace("\r\n ", "") == line
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert escape("a\r\nb") == "a\\nb"
