"""The privacy centre's retention table says what the sweepers do: its periods come from the
registry, the recording rules and the settings, and an organisation's own days are named."""

from __future__ import annotations

from camtel.config import Settings
from camtel.media.cleanup import KEEP_DAYS
from camtel.privacy.registry import REGISTRY
from camtel.web import i18n
from camtel.web.privacy import period, region_text, retention_rows, swept_after

ENGLISH = i18n.language("en").gettext
GERMAN = i18n.language("de").gettext


def test_periods_in_words():
    assert [period(d, ENGLISH) for d in (1, 14, 30, 365, 730, 400)] == [
        "1 day",
        "14 days",
        "30 days",
        "1 year",
        "2 years",
        "400 days",
    ]
    assert period(365, GERMAN) == "1 Jahr" and period(90, GERMAN) == "90 Tage"


def test_the_table_follows_the_sweep_rules_and_the_settings():
    settings = Settings(diagnostics_retention_days=7, session_ttl_hours=48, share_keep_days=0)
    rows = {row.what: row for row in retention_rows(settings, {}, ENGLISH)}
    for table, what in [
        ("positions", "Positions of your vehicles (live map, trips, history)"),
        ("events", "Events and alerts (fences crossed, speeding, alarms)"),
        ("access_log", "Your sign-ins and failed attempts"),
        ("device_access_log", "Connections of your devices"),
        ("access_audit", "Who saw your data"),
        ("inbox_items", "Notifications in the app"),
        ("outbox_mail", "Mail camtel sent you"),
    ]:
        assert rows[what].kept == period(swept_after(table), ENGLISH), table
    assert swept_after("positions") == REGISTRY["positions"].sweep[0].days
    assert rows["Recordings"].kept == period(KEEP_DAYS["normal"], ENGLISH)
    assert rows["Problem reports (diagnostics)"].kept == "7 days"
    assert (
        rows["Sessions (signed-in browsers and apps)"].kept == "Until you sign out, at most 2 days"
    )
    assert rows["Share links to recordings"].kept == "Until they expire or you revoke them"


def test_an_organisations_own_days_are_named_and_stay_text():
    chosen = {"positions": [("Fleet <b>Nord</b>", 30)], "media.event": [("Solo", 60)]}
    rows = {row.what: row for row in retention_rows(Settings(), chosen, ENGLISH)}
    assert rows["Positions of your vehicles (live map, trips, history)"].own == [
        "Fleet <b>Nord</b> keeps them 30 days"
    ]
    assert rows["Event recordings and recordings you locked"].own == ["Solo keeps them 60 days"]
    german = {row.what: row for row in retention_rows(Settings(), chosen, GERMAN)}
    assert german["Ereignisaufnahmen und von Ihnen gesperrte Aufnahmen"].own == [
        "Solo bewahrt sie 60 Tage auf"
    ]


def test_the_storage_region():
    assert region_text(Settings(storage_region="eu-central-1 / Germany"), ENGLISH) == (
        "eu-central-1 / Germany"
    )
    assert "named no region" in region_text(Settings(storage_region="local"), ENGLISH)
