"""No table may hold personal data without being registered with its rules."""

from __future__ import annotations

from camtel.privacy.registry import NOT_PERSONAL, REGISTRY
from camtel.schema import metadata


def test_every_table_is_declared():
    tables = set(metadata.tables)
    undeclared = sorted(tables - set(REGISTRY) - set(NOT_PERSONAL))
    assert undeclared == [], f"declare these in camtel/privacy/registry.py: {undeclared}"
    stale = sorted(set(REGISTRY) - tables)
    assert stale == [], f"registered tables that no longer exist: {stale}"


def test_entries_are_complete():
    for entry in REGISTRY.values():
        assert entry.categories and entry.subject and entry.retention and entry.purpose, entry
    assert not set(REGISTRY) & set(NOT_PERSONAL)


def test_links_and_sweep_rules_name_real_columns():
    """Export, erasure and the sweeper read these columns: a typo would silently skip rows."""
    for name, entry in REGISTRY.items():
        columns = set(metadata.tables[name].c.keys())
        if entry.link.kind != "none":
            assert entry.link.column in columns, (name, entry.link)
        for rule in entry.sweep:
            assert rule.column in columns, (name, rule)
            assert not rule.held_by or rule.held_by in columns, (name, rule)
            assert all(column in columns for column, _ in rule.where), (name, rule)
