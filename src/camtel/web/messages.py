"""The strings of the pages, found where they are written: templates, page scripts, web code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from camtel.web.i18n import JS_KEYWORDS, JS_OPTIONS

WEB_DIR = Path(__file__).parent

#: Babel's method map: which extractor reads which files.
METHODS = [
    ("templates/**.html", "jinja2"),
    ("static/js/**.js", "javascript"),
    ("**.py", "python"),
]
OPTIONS: dict[str, dict[str, Any]] = {
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"},
    "static/js/**.js": JS_OPTIONS,
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), **JS_KEYWORDS}


def extracted() -> Iterator[tuple[str, str | tuple[str, ...], int]]:
    """(file, message, line) for every marked string under the web package."""
    for filename, line, message, _comments, _context in extract_from_dir(
        WEB_DIR, method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if "/vendor/" in filename or filename.startswith("vendor/"):
            continue
        yield filename, message, line


def template_catalog() -> Catalog:
    """A catalogue of every string the pages use (what a .pot file would hold)."""
    catalog = Catalog(project="camtel", domain="messages")
    for filename, message, line in extracted():
        catalog.add(message, locations=[(filename, line)])
    return catalog
