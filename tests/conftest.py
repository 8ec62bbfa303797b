"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import find_shared, missing


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared folder of captured device messages and recordings."""
    found = find_shared()
    if found is None:
        missing("shared vectors not found (set CAMTEL_SHARED_DIR)")
    return found
