"""Bring the German catalogue up to date with the strings of the pages.

`python tools/i18n_update.py` adds every new string of the templates, page scripts and web code
to src/camtel/web/locales/de/LC_MESSAGES/messages.po (untranslated), keeps existing
translations, and drops strings no longer used. Translate the empty ones; the test
tests/web/test_i18n.py fails while any is empty. `--fill de=FILE.json` first takes
translations from a JSON object {"English": "Deutsch"} for strings that have none yet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from camtel.web.i18n import LANGUAGES, catalogue_path
from camtel.web.messages import template_catalog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", action="append", default=[], metavar="LANG=FILE.json")
    args = parser.parse_args()
    fills: dict[str, dict[str, str]] = {}
    for item in args.fill:
        code, _, file = item.partition("=")
        fills.setdefault(code, {}).update(json.loads(Path(file).read_text()))
    template = template_catalog()
    for code in LANGUAGES:
        if code == "en":
            continue
        path = catalogue_path(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=code)
        else:
            from babel.messages.catalog import Catalog

            catalog = Catalog(locale=code, project="camtel", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            if message.id and not message.string and message.id in fills.get(code, {}):
                message.string = fills[code][message.id]
        with path.open("wb") as po:
            write_po(po, catalog, width=100, sort_output=True)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{code}: {len(catalog)} strings, {len(missing)} to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
