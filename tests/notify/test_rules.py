"""Who is told, and how: the pure rule decisions, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

import pytest

from camtel.notify.rules import (
    Happening,
    QuietHours,
    Rule,
    audience,
    channels_for,
    parse_clock,
    parse_zone,
    quiet_hours,
    route,
    webhook_wants,
)

ALICE, BOB, DRIVER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
VAN, CAR = uuid.uuid4(), uuid.uuid4()
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ALL = frozenset({"inbox", "email", "webpush"})


def happening(type: str = "geofence_exit", device=VAN, urgent=False, at=NOON) -> Happening:
    return Happening(type, device, urgent, at)


def test_empty_filters_mean_everything():
    rule = Rule(ALICE, ALL)
    assert channels_for(rule, happening("overspeed", CAR), visible=True) == ALL


def test_types_and_devices_narrow():
    rule = Rule(ALICE, frozenset({"email"}), frozenset({"geofence_exit"}), frozenset({VAN}))
    assert channels_for(rule, happening(), visible=True) == {"email"}
    assert channels_for(rule, happening("geofence_enter"), visible=True) == frozenset()
    assert channels_for(rule, happening(device=CAR), visible=True) == frozenset()


def test_a_rule_never_reveals_an_invisible_device():
    assert channels_for(Rule(ALICE, ALL), happening(), visible=False) == frozenset()


def test_quiet_hours_wrap_midnight_in_the_person_s_zone():
    quiet = quiet_hours("22:00", "07:00", "Europe/Berlin")
    assert quiet is not None
    # 21:30 UTC is 23:30 in Berlin in summer: quiet. 12:00 UTC is 14:00: not.
    assert quiet.contains(datetime(2026, 6, 1, 21, 30, tzinfo=UTC))
    assert quiet.contains(datetime(2026, 6, 1, 4, 59, tzinfo=UTC))  # 06:59 local
    assert not quiet.contains(datetime(2026, 6, 1, 5, 0, tzinfo=UTC))  # 07:00 local
    assert not quiet.contains(NOON)


def test_quiet_hours_within_a_day_and_empty_window():
    zone = parse_zone("UTC")
    lunch = QuietHours(time(12, 0), time(13, 0), zone)
    assert lunch.contains(NOON) and not lunch.contains(NOON.replace(hour=13))
    assert not QuietHours(time(9), time(9), zone).contains(NOON.replace(hour=9))


def test_quiet_hours_silence_interrupting_channels_but_not_the_inbox_or_urgent():
    rule = Rule(ALICE, ALL, quiet=quiet_hours("11:00", "13:00", "UTC"))
    assert channels_for(rule, happening(), visible=True) == {"inbox"}
    assert channels_for(rule, happening(urgent=True), visible=True) == ALL
    email_only = Rule(ALICE, frozenset({"email"}), quiet=rule.quiet)
    assert channels_for(email_only, happening(), visible=True) == frozenset()


def test_route_unions_channels_per_person_and_respects_the_audience():
    rules = [
        Rule(ALICE, frozenset({"inbox"})),
        Rule(ALICE, frozenset({"email"}), frozenset({"geofence_exit"})),
        Rule(BOB, frozenset({"webpush"})),
        Rule(DRIVER, frozenset({"inbox"})),
    ]
    seen_by = audience({ALICE: True, BOB: True, DRIVER: False}, driver_id=None)
    assert route(rules, happening(), audience=seen_by) == {
        ALICE: {"inbox", "email"},
        BOB: {"webpush"},
    }
    their_van = audience({ALICE: True, DRIVER: False}, driver_id=DRIVER)
    assert DRIVER in their_van
    assert route(rules, happening("overspeed"), audience=their_van)[DRIVER] == {"inbox"}


@pytest.mark.parametrize(
    "bad", ["7:00", "24:00", "12:60", "noon", "", "12-00", "\uff11\uff12:\uff10\uff10"]
)
def test_bad_clocks_are_refused(bad):
    with pytest.raises(ValueError):
        parse_clock(bad)


def test_bad_zones_are_refused():
    for bad in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(ValueError):
            parse_zone(bad)


def test_webhook_subscriptions():
    assert webhook_wants(["geofence_exit"], "geofence_exit")
    assert not webhook_wants(["geofence_exit"], "overspeed")
    assert webhook_wants(["*"], "overspeed")
