"""camtel's own privacy policy and terms, shown until the operator publishes theirs: honest
about what camtel does (the registry's retention periods, cookie-less statistics) and
naming no company (the imprint names the operator)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from string import Template

from camtel.privacy.policies import Kind

TEXTS_DIR = Path(__file__).parent / "default_texts"
LANGUAGES = ("en", "de")


def default_text(kind: Kind, lang: str, values: Mapping[str, str]) -> str:
    """The default document of this kind in this language (English when there is none),
    with `$storage_region` and `$contact_days` filled in from `values`."""
    code = lang if lang in LANGUAGES else "en"
    text = (TEXTS_DIR / f"{Kind(kind)}.{code}.md").read_text(encoding="utf-8")
    return Template(text).safe_substitute(values)
