"""Process-wide tuning of a long-running camtel server: the cyclic garbage collector.

Ingest allocates a few small containers per report (frames, positions, envelopes, rows) that
reference counting frees at once; what the cyclic collector adds is traversing, again and
again, the hundreds of thousands of long-lived objects the server loaded at start (SQLAlchemy,
FastAPI, pydantic models, settings). Measured on the ingest bench, that traversal was a
quarter of the server's CPU. Once the process has started, everything alive is moved out of
the collector's sight (`gc.freeze`) and young collections run less often; cycles made later
are still collected.
"""

from __future__ import annotations

import gc

#: Allocations (net) between collections of the youngest generation; CPython's default is 700.
YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Call once the server has loaded everything and before it takes traffic."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
