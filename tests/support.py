"""Helpers shared by tests: the services-required switch and the shared vectors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("CAMTEL_REQUIRE_SERVICES") == "1"


def missing(reason: str) -> None:
    """Skip with a visible reason on a laptop; fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required but unavailable: {reason}")
    pytest.skip(reason)


def find_shared() -> Path | None:
    """The shared folder (vectors, fixtures): CAMTEL_SHARED_DIR, or a `shared/` beside a parent."""
    env = os.environ.get("CAMTEL_SHARED_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared"
        if (candidate / "vectors").is_dir():
            return candidate
    return None


def load_vectors(shared: Path, name: str) -> list[tuple[str, str, dict[str, str]]]:
    """Rows of a vectors TSV: (message, check, context as a dict)."""
    rows = []
    for line in (shared / "vectors" / name).read_text().splitlines():
        if not line.strip():
            continue
        message, check, context = [*line.split("\t"), "", ""][:3]
        ctx = dict(part.split("=", 1) for part in context.split(";") if "=" in part)
        rows.append((message, check, ctx))
    return rows
