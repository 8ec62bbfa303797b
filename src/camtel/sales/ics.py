"""Calendar invitations (RFC 5545 iCalendar, RFC 5546 iTIP) for demo bookings. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//camtel//Demo booking//EN"


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def parameter(text: str) -> str:
    """A parameter value (CN=...): quoted, without the characters a parameter cannot hold."""
    cleaned = "".join(c for c in text if c not in '"\r\n' and (c >= " " or c == "\t"))
    return f'"{cleaned}"'


def fold(line: str) -> str:
    """A content line folded at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        limit = 75 if not out else 74  # continuation lines start with a space
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def stamp(moment: datetime) -> str:
    """A UTC DATE-TIME: 20261214T090000Z."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True, slots=True)
class Invitation:
    """One demo as a calendar event."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str
    attendee_name: str
    attendee_email: str
    organizer_name: str = "camtel"
    organizer_email: str = ""
    sequence: int = 0


def calendar(invitation: Invitation, *, now: datetime, method: str = "REQUEST") -> str:
    """The iCalendar text of an invitation (`REQUEST`), its cancellation (`CANCEL`), or a plain
    published event (`PUBLISH`, used when no organiser address is configured: RFC 5546 wants
    one on a request)."""
    cancelled = method == "CANCEL"
    if method in ("REQUEST", "CANCEL") and not invitation.organizer_email:
        method = "PUBLISH"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{escape(invitation.uid)}",
        f"DTSTAMP:{stamp(now)}",
        f"DTSTART:{stamp(invitation.start)}",
        f"DTEND:{stamp(invitation.end)}",
        f"SEQUENCE:{invitation.sequence}",
        f"SUMMARY:{escape(invitation.summary)}",
        f"DESCRIPTION:{escape(invitation.description)}",
        f"LOCATION:{escape(invitation.location)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if invitation.organizer_email:
        lines.append(
            f"ORGANIZER;CN={parameter(invitation.organizer_name)}:mailto:"
            f"{invitation.organizer_email}"
        )
    lines.append(
        f"ATTENDEE;CN={parameter(invitation.attendee_name)};ROLE=REQ-PARTICIPANT;"
        f"PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{invitation.attendee_email}"
    )
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
