"""Static assets: where they live, and their URLs with a content hash for long caching."""

from __future__ import annotations

import hashlib
import json
import re
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


_IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["']\./([\w.-]+\.js)["']""", re.M)


@cache
def module_graph(script: Path) -> tuple[Path, ...]:
    """A page script and every module it imports, directly or not (in the order found)."""
    found: dict[Path, None] = {}
    pending = [script]
    while pending:
        current = pending.pop(0)
        if current in found or not current.is_file():
            continue
        found[current] = None
        pending.extend(current.parent / name for name in _IMPORT.findall(current.read_text()))
    return tuple(found)


def module_preloads(scripts: tuple[str, ...]) -> list[str]:
    """URLs of the modules the page's scripts import, as the browser will ask for them (the
    imports name no hash), so that it fetches them at once rather than one level at a time."""
    roots = [STATIC_DIR / "js" / name for name in scripts]
    imported = {
        module: None for root in roots for module in module_graph(root)[1:] if module not in roots
    }
    return [f"{STATIC_PREFIX}/{module.relative_to(STATIC_DIR).as_posix()}" for module in imported]


@cache
def vendor_manifest() -> dict:
    """The manifest of vendored browser libraries (written by tools/vendor_js.py)."""
    return json.loads((VENDOR_DIR / "MANIFEST.json").read_text())
