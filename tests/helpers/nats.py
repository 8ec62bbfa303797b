"""What the NATS bus tests share: the server, short timings, buses on a stream of their own."""

from __future__ import annotations

import os
import secrets
from typing import Any

from camtel.bus.nats import NatsBus

NATS_URL = os.environ.get("CAMTEL_TEST_NATS", "nats://127.0.0.1:4222")
#: Short timings so that redeliveries happen within a test (the lease TTL is then 3 s).
FAST: dict[str, Any] = {"ack_wait_s": 1.0, "fetch_wait_s": 0.25, "nak_delay_s": 0.1}


class BusFactory:
    """Makes NatsBus instances (a gateway, workers) sharing one test's stream and subjects."""

    def __init__(self) -> None:
        suffix = secrets.token_hex(4)
        self.url = NATS_URL
        self.stream = f"CAMTEL_TEST_{suffix}"
        self.subject = f"camtel.test{suffix}.positions"
        self.buses: list[NatsBus] = []

    def __call__(self, partitions: int = 1, **options: Any) -> NatsBus:
        bus = NatsBus(
            self.url,
            stream=self.stream,
            subject=self.subject,
            partitions=partitions,
            **(FAST | options),
        )
        self.buses.append(bus)
        return bus
