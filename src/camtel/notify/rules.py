"""Who is told about an event, and how: pure decisions over per-person rules, no I/O.

Quiet hours silence the channels that interrupt (email, Web Push); the in-app inbox still
records the event, so nothing is lost, and urgent events ignore quiet hours altogether.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Channels a person can pick in a rule (webhooks are per organisation, not per person).
CHANNELS = ("inbox", "email", "webpush")
#: Channels that stay silent during quiet hours unless the event is urgent.
INTERRUPTING = frozenset({"email", "webpush"})


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in a time zone; `start > end` wraps past midnight (22:00-07:00)."""

    start: time
    end: time
    zone: ZoneInfo

    def contains(self, at: datetime) -> bool:
        """Whether the aware instant `at` falls in the window, in the window's own zone."""
        local = at.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class Rule:
    """One person's rule: empty `event_types` / `device_ids` mean every type / visible device."""

    user_id: uuid.UUID
    channels: frozenset[str]
    event_types: frozenset[str] = frozenset()
    device_ids: frozenset[uuid.UUID] = frozenset()
    quiet: QuietHours | None = None


@dataclass(frozen=True, slots=True)
class Happening:
    """The facts about an event a rule looks at."""

    type: str
    device_id: uuid.UUID
    urgent: bool
    time: datetime


def parse_clock(value: str) -> time:
    """'HH:MM' (24-hour) as a time; ValueError when it is not one."""
    hours, sep, minutes = value.partition(":")
    digits = hours + minutes
    if (
        not sep
        or len(hours) != 2
        or len(minutes) != 2
        or not (digits.isascii() and digits.isdigit())
    ):
        raise ValueError("use HH:MM, 24-hour")
    return time(int(hours), int(minutes))


def parse_zone(name: str) -> ZoneInfo:
    """An IANA time zone by name; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def quiet_hours(start: str | None, end: str | None, zone: str) -> QuietHours | None:
    """Quiet hours from stored strings; None when the rule has none."""
    if not start or not end:
        return None
    return QuietHours(parse_clock(start), parse_clock(end), parse_zone(zone))


def channels_for(rule: Rule, event: Happening, *, visible: bool) -> frozenset[str]:
    """The channels through which this rule sends this event (empty: it does not match)."""
    if not visible or not rule.channels:
        return frozenset()
    if rule.event_types and event.type not in rule.event_types:
        return frozenset()
    if rule.device_ids and event.device_id not in rule.device_ids:
        return frozenset()
    if not event.urgent and rule.quiet is not None and rule.quiet.contains(event.time):
        return rule.channels - INTERRUPTING
    return rule.channels


def route(
    rules: Iterable[Rule],
    event: Happening,
    *,
    audience: Container[uuid.UUID],
) -> dict[uuid.UUID, frozenset[str]]:
    """For each person a rule of theirs matches, the union of channels; `audience` is who
    may see the event's device (a rule never reveals a device its owner cannot see)."""
    chosen: dict[uuid.UUID, frozenset[str]] = {}
    for rule in rules:
        picked = channels_for(rule, event, visible=rule.user_id in audience)
        if picked:
            chosen[rule.user_id] = chosen.get(rule.user_id, frozenset()) | picked
    return chosen


def audience(
    members: Mapping[uuid.UUID, bool], *, driver_id: uuid.UUID | None
) -> frozenset[uuid.UUID]:
    """Who may see a device: members who see the whole organisation, and its own driver.

    `members` maps each member of the device's organisation to whether their role sees every
    device (the same decision as `accounts.roles.sees_all_devices`)."""
    return frozenset(user for user, sees_all in members.items() if sees_all or user == driver_id)


def webhook_wants(events: Iterable[str], event_type: str) -> bool:
    """Whether a webhook subscribed to `events` receives an event of `event_type`."""
    wanted = set(events)
    return "*" in wanted or event_type in wanted
