"""The stages in order: whatever they add, what the device reported stays as it came."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from camtel.bus.base import Envelope
from camtel.dedup import dedup_key
from camtel.messages import Position
from camtel.pipeline.stages import build_stages, with_computed
from camtel.pipeline.state import DeviceState

T0 = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def run(positions: list[Position]) -> list[Position]:
    """Every position through every stage, as the worker does, without bus or store (events
    need a running loop: call it from a coroutine)."""
    state, stages, out = DeviceState(), build_stages(), []
    for position in positions:
        envelope = Envelope(uuid.uuid4(), position, T0, dedup_key(position))
        for _, stage in stages:
            assert stage(envelope, state, T0 + timedelta(hours=1)) is None
        assert envelope.position is not None
        out.append(envelope.position)
    return out


async def test_no_stage_replaces_a_reported_attribute():
    reported = [
        {"odometer_m": 1_234_500, "motion": False, "ignition": True},  # a dashboard odometer
        {"odometer_m": 1_234_600, "motion": False, "distance_m": "free-form"},  # OsmAnd extras
        {"odometer_m": 1_234_700, "total_distance_m": 5},
    ]
    positions = [
        Position(
            "teltonika",
            "356307042441013",
            T0 + timedelta(minutes=n),
            52.0 + n / 100,
            13.4,
            speed_kmh=60.0,
            attributes=dict(attributes),
        )
        for n, attributes in enumerate(reported)
    ]
    stored = run(positions)
    for before, after in zip(reported, stored, strict=True):
        assert {k: after.attributes[k] for k in before} == before
    # What the device did not say is computed, under camtel's own names.
    assert stored[0].attributes["total_distance_m"] == 0.0
    assert stored[1].attributes["total_distance_m"] > 1000
    assert stored[2].attributes["distance_m"] > 1000


def test_computed_values_fill_only_what_the_device_left_out():
    merged = with_computed({"odometer_m": 10, "motion": True}, {"motion": False, "distance_m": 3})
    assert merged == {"odometer_m": 10, "motion": True, "distance_m": 3}
