"""Languages of the pages: English and German catalogues, chosen per request."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel import Locale
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from camtel.web.assets import module_graph

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT = "en"
#: Languages the pages are written in; English is the source language of the templates.
LANGUAGES = ("en", "de")
#: The cookie a person's explicit choice in the language switch is kept in (nothing else
#: sets it: it is a preference they asked for, so it needs no consent).
LANG_COOKIE = "camtel_lang"


@dataclass(frozen=True, slots=True)
class Language:
    """One language of the pages: its code, its own name and its message catalogue."""

    code: str
    name: str
    translations: NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)


def catalogue_path(code: str) -> Path:
    return LOCALES_DIR / code / "LC_MESSAGES" / "messages.po"


@cache
def language(code: str) -> Language:
    """The language `code` (one of LANGUAGES), its catalogue compiled in memory from the .po."""
    if code not in LANGUAGES:
        code = DEFAULT
    translations: NullTranslations = NullTranslations()
    path = catalogue_path(code)
    if code != DEFAULT and path.exists():
        with path.open("rb") as po:
            catalog = read_po(po, locale=code)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        translations = GNUTranslations(compiled)
    name = Locale.parse(code).get_display_name(code) or code
    return Language(code=code, name=name[:1].upper() + name[1:], translations=translations)


def negotiate(*, query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: an explicit `?lang=`, then the switch's cookie, then the
    browser's `Accept-Language` (by its q-values), then English."""
    for explicit in (query, cookie):
        if explicit and explicit.lower() in LANGUAGES:
            return explicit.lower()
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def _accepted(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _q, _p, tag in sorted(weighted)]


#: Options for Babel's JavaScript extractor: `t("...")` marks a string in the page scripts.
JS_KEYWORDS = {"t": None}
JS_OPTIONS = {"parse_template_string": True}
@cache
def script_messages(script: Path) -> tuple[str, ...]:
    """Every `t("...")` string of a page script and of the scripts it imports."""
    seen: dict[str, None] = {}
    for module in module_graph(script):
        for _line, message, _comments, _context in extract(
            "javascript", io.BytesIO(module.read_bytes()), keywords=JS_KEYWORDS, options=JS_OPTIONS
        ):
            if isinstance(message, str):
                seen.setdefault(message)
    return tuple(seen)


def script_strings(language: Language, scripts: list[Path]) -> dict[str, str]:
    """The translations a page's scripts need, keyed by their English text."""
    return {
        message: language.gettext(message)
        for script in scripts
        for message in script_messages(script)
    }
