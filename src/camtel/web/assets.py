"""Static assets: where they live, and their URLs with a content hash for long caching."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_PREFIX = "/static"


class MissingAsset(LookupError):
    """A template names a static file that does not exist."""


@cache
def _digest(relative: str) -> str:
    path = STATIC_DIR / relative
    if not path.is_file():
        raise MissingAsset(relative)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(relative: str) -> str:
    """`/static/<relative>?v=<hash>`: the hash changes with the file, so browsers may cache it
    for a year; a missing file is an error when the page renders, not a 404 in the browser."""
    relative = relative.lstrip("/")
    return f"{STATIC_PREFIX}/{relative}?v={_digest(relative)}"


def vendor(name: str, file: str) -> str:
    """The path (relative to the static folder) of `file` of the vendored npm package `name`."""
    for package in vendor_manifest()["packages"]:
        if package["name"] == name:
            if file not in package["files"]:
                raise MissingAsset(f"{name}: {file}")
            return f"vendor/{package['folder']}/{file}"
    raise MissingAsset(name)


@cache
def vendor_manifest() -> dict:
    """The manifest of vendored browser libraries (written by tools/vendor_js.py)."""
    return json.loads((VENDOR_DIR / "MANIFEST.json").read_text())
