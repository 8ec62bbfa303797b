"""What changed between policy versions (pure): passages under their heading, rewritten lines
with their changed words marked, blank lines ignored; and camtel's default texts."""

from __future__ import annotations

import pytest

from camtel.privacy import policy_defaults
from camtel.privacy.policies import Kind
from camtel.privacy.policy_diff import passages

OLD = """# Privacy policy

## Statistics

We count visits without cookies.
We keep counts for a year.

## Contact

Write to the officer.
"""


def test_a_rewritten_line_marks_its_changed_words():
    new = OLD.replace("for a year", "for two years")
    (passage,) = passages(OLD, new)
    assert passage.section == "Statistics"
    kinds = [(line.kind, line.text) for line in passage.lines]
    assert kinds == [
        ("same", "We count visits without cookies."),
        ("removed", "We keep counts for a year."),
        ("added", "We keep counts for two years."),
        ("same", "## Contact"),
    ]
    removed, added = passage.lines[1], passage.lines[2]
    assert [p for p, changed in removed.parts if changed] == ["a year."]
    assert [p for p, changed in added.parts if changed] == ["two years."]
    assert (passage.added, passage.removed) == (1, 1)


def test_added_and_removed_passages_and_blank_lines():
    new = OLD.replace("Write to the officer.\n", "Write to the officer.\n\n## Rights\n\nAsk us.\n")
    new = new.replace("We count visits without cookies.\n", "")
    new = new.replace("\n\n## Contact", "\n\n\n\n## Contact")  # only blank lines: no change
    found = passages(OLD, new)
    assert [(p.section, p.removed, p.added) for p in found] == [
        ("Statistics", 1, 0),
        ("Contact", 0, 2),
    ]
    added = [line.text for line in found[1].lines if line.kind == "added"]
    assert added == ["## Rights", "Ask us."]
    assert passages(OLD, OLD) == []


def test_markup_in_a_version_stays_text():
    found = passages(OLD, OLD + "<script>alert(1)</script>\n")
    assert found[0].lines[-1].text == "<script>alert(1)</script>"


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_default_texts_fill_their_values(kind, lang):
    values = {"storage_region": "Frankfurt", "contact_days": "365"}
    text = policy_defaults.default_text(kind, lang, values)
    assert text.startswith("# ") and "$" not in text
    if kind == "privacy":
        assert "Frankfurt" in text and "365" in text
