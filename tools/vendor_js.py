"""Fetch the browser libraries from the npm registry at pinned versions into the vendor folder.

Run `python tools/vendor_js.py` (needs `npm` on the PATH) after changing PACKAGES; it rewrites
`src/camtel/web/static/vendor/` and its MANIFEST.json (name, version, licence, the registry's
integrity of the tarball, and the sha256 of each file kept). The app never runs npm: the
files are committed, and tests/web/test_vendor.py checks every one against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "camtel" / "web" / "static" / "vendor"

#: npm name, version, the files to keep (paths inside the package) and where they go.
PACKAGES: list[tuple[str, str, dict[str, str]]] = [
    (
        "leaflet",
        "1.9.4",
        {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            "dist/images/layers.png": "images/layers.png",
            "dist/images/layers-2x.png": "images/layers-2x.png",
            "dist/images/marker-icon.png": "images/marker-icon.png",
            "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "dist/images/marker-shadow.png": "images/marker-shadow.png",
            "LICENSE": "LICENSE",
        },
    ),
    (
        "@geoman-io/leaflet-geoman-free",
        "2.20.2",
        {
            "dist/leaflet-geoman.min.js": "leaflet-geoman.min.js",
            "dist/leaflet-geoman.css": "leaflet-geoman.css",
            "LICENSE": "LICENSE",
        },
    ),
    (
        "topojson-client",
        "3.1.0",
        {"dist/topojson-client.min.js": "topojson-client.min.js", "LICENSE": "LICENSE"},
    ),
    (
        "world-atlas",
        "2.0.2",
        {
            "land-50m.json": "land-50m.json",
            "countries-110m.json": "countries-110m.json",
            "LICENSE": "LICENSE",
        },
    ),
]


def folder_name(name: str, version: str) -> str:
    """`@scope/pkg` at 1.2.3 lives in `scope-pkg-1.2.3`."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(name: str, version: str, work: Path) -> tuple[Path, dict[str, object]]:
    """`npm pack` one package; returns its unpacked folder and the registry's metadata."""
    spec = f"{name}@{version}"
    out = subprocess.run(
        ["npm", "pack", spec, "--json"], cwd=work, check=True, capture_output=True, text=True
    )
    info = json.loads(out.stdout)[0]
    unpacked = work / folder_name(name, version)
    unpacked.mkdir()
    with tarfile.open(work / info["filename"]) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked / "package", info


def main() -> int:
    manifest: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, version, files in PACKAGES:
            package, info = fetch(name, version, work)
            meta = json.loads((package / "package.json").read_text())
            target = VENDOR / folder_name(name, version)
            shutil.rmtree(target, ignore_errors=True)
            kept = {}
            for source, dest in files.items():
                (target / dest).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(package / source, target / dest)
                kept[dest] = sha256(target / dest)
            manifest.append(
                {
                    "name": name,
                    "version": version,
                    "license": meta["license"],
                    "folder": target.name,
                    "integrity": info["integrity"],
                    "files": kept,
                }
            )
    (VENDOR / "MANIFEST.json").write_text(json.dumps({"packages": manifest}, indent=2) + "\n")
    print(f"wrote {len(manifest)} packages to {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
