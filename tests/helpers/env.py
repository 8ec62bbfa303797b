"""What tests run in: the services-required switch, the recorded test data, free ports,
waiting for something to happen."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("CAMTEL_REQUIRE_SERVICES") == "1"


def missing(reason: str) -> None:
    """Skip with a visible reason on a laptop; fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required but unavailable: {reason}")
    pytest.skip(reason)


# Captured device messages and real recordings, copied into the repository with their origin
# and licence (tests/data/ORIGIN.md), so that a clone alone passes `make test`.
DATA = Path(__file__).resolve().parents[1] / "data"


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


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
