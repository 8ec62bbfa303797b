"""Vendored browser libraries match their manifest, and every asset a page names exists."""

from __future__ import annotations

import hashlib
import re

import pytest

from camtel.web.assets import (
    STATIC_DIR,
    VENDOR_DIR,
    MissingAsset,
    asset_url,
    vendor,
    vendor_manifest,
)
from camtel.web.render import TEMPLATES_DIR

ALLOWED_LICENCES = {"MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0"}


def test_every_vendored_file_matches_its_manifest_hash_and_nothing_else_is_there() -> None:
    listed = set()
    for package in vendor_manifest()["packages"]:
        assert package["version"] and re.fullmatch(r"\d+\.\d+\.\d+", package["version"])
        assert package["license"] in ALLOWED_LICENCES, package
        assert package["integrity"].startswith("sha512-")
        folder = VENDOR_DIR / package["folder"]
        for name, digest in package["files"].items():
            data = (folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{package['name']}: {name} changed"
            listed.add(folder / name)
        assert "LICENSE" in package["files"], f"{package['name']} ships without its licence"
    present = {p for p in VENDOR_DIR.rglob("*") if p.is_file() and p.name != "MANIFEST.json"}
    assert present == listed, f"files not in the manifest: {present - listed}"


def test_every_asset_a_template_names_exists() -> None:
    named = 0
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text()
        for path in re.findall(r"asset\('([^']+)'\)", text):
            assert (STATIC_DIR / path).is_file(), f"{template.name}: {path}"
            named += 1
        for name, file in re.findall(r"vendor_asset\('([^']+)', '([^']+)'\)", text):
            assert (STATIC_DIR / vendor(name, file)).is_file(), f"{template.name}: {name} {file}"
            named += 1
    assert named > 5


def test_every_module_a_page_script_imports_exists() -> None:
    for script in (STATIC_DIR / "js").glob("*.js"):
        for imported in re.findall(r"""from\s+["']\./([\w.-]+)["']""", script.read_text()):
            assert (script.parent / imported).is_file(), f"{script.name} imports {imported}"


def test_a_missing_asset_fails_when_the_page_renders_not_in_the_browser() -> None:
    with pytest.raises(MissingAsset):
        asset_url("js/not-there.js")
    with pytest.raises(MissingAsset):
        vendor("leaflet", "not-there.js")
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{12}", asset_url("css/app.css"))
