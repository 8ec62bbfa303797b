"""English and German: every string of the pages is in the German catalogue, translated, with
the same placeholders; the language comes from the request."""

from __future__ import annotations

import re

import pytest

from camtel.web import i18n
from camtel.web.messages import extracted

PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def test_every_string_of_the_pages_is_translated_to_german() -> None:
    german = i18n.language("de")
    found = {message if isinstance(message, str) else message[0] for _f, message, _l in extracted()}
    assert len(found) > 50
    untranslated = sorted(m for m in found if german.gettext(m) == m and m not in SAME_IN_GERMAN)
    assert untranslated == [], f"missing from the German catalogue: {untranslated}"
    for message in found:
        assert sorted(PLACEHOLDER.findall(message)) == sorted(
            PLACEHOLDER.findall(german.gettext(message))
        ), f"placeholders differ: {message!r}"


#: Words German takes over unchanged (they must still be in the catalogue).
SAME_IN_GERMAN = {
    "Alarm", "Offline", "Position", "Status", "Start", "Name", "Online", "Details",
    "Manager", "Version", "Video", "Export", "Organisation",
}


def test_same_words_are_in_the_catalogue_all_the_same() -> None:
    from babel.messages.pofile import read_po

    with i18n.catalogue_path("de").open("rb") as po:
        catalog = read_po(po)
    ids = {m.id for m in catalog if m.id}
    found = {m if isinstance(m, str) else m[0] for _f, m, _l in extracted()}
    assert found <= ids, f"not in the catalogue: {sorted(found - ids)}"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, None, "fr-FR, en;q=0.5, de;q=0.7", "de"),
        (None, None, "fr-FR", "en"),
        (None, None, None, "en"),
        (None, "de", "en-GB", "de"),
        ("en", "de", "de", "en"),
        ("xx", None, "de", "de"),
        (None, None, "de;q=0, en", "en"),
    ],
)
def test_the_language_of_a_request(query, cookie, header, expected) -> None:  # type: ignore[no-untyped-def]
    assert i18n.negotiate(query=query, cookie=cookie, accept_language=header) == expected
