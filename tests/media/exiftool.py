"""Run ExifTool on a file and read its embedded GPS points in document order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from helpers.env import missing

# -G3:4 names duplicates within a document (Doc1:Copy2:Tag) so that JSON keeps them all.
ARGS = ["-ee", "-n", "-j", "-G3:4", "-a", "-u", "-api", "largefilesupport=1", "-api",
        "QuickTimeUTC=1"]


def run(path: Path) -> list[tuple[str, object]]:
    """(group:tag, value) pairs in ExifTool's order, duplicates kept."""
    exe = shutil.which("exiftool")
    if exe is None:
        missing("exiftool not installed (apt-get install libimage-exiftool-perl)")
    done = subprocess.run(
        [exe, *ARGS, str(path)], capture_output=True, check=True, timeout=60,
        env={**os.environ, "TZ": "UTC"},
    )
    pairs = json.loads(done.stdout, object_pairs_hook=list)
    return pairs[0]


def _order(key: str) -> tuple[int, float]:
    """Document number, then copy number; the un-numbered copy is a document's last value."""
    parts = key.split(":")
    copy = next((int(p[4:]) for p in parts if p.startswith("Copy")), None)
    return int(parts[0][3:]), float("inf") if copy is None else copy


def series(pairs: list[tuple[str, object]], tag: str) -> list:
    """Values of one tag across the embedded documents, in order."""
    keys = [(k, v) for k, v in pairs if k.startswith("Doc") and k.rsplit(":", 1)[-1] == tag]
    return [v for _k, v in sorted(keys, key=lambda kv: _order(kv[0]))]
