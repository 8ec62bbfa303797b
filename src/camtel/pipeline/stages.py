"""The pipeline, in order: every position of one device passes these stages one at a time.

    filter  → drop the impossible and the already stored (pipeline/filter.py)
    motion  → computed distance, moving/stopped (pipeline/motion.py)
    store   → batched, idempotent write; the device is acknowledged after it (pipeline/store.py)

A stage is a function `(envelope, state, now) -> drop reason | None` that may replace
`envelope.position`; the per-device `state` (pipeline/state.py) is touched only by the worker
that owns the device's partition. The event stages (pipeline/events_stages.py) come after
motion and put what they decide on `envelope.events`, which the store writes with the position.

A stage may add attributes but never replaces one the device reported (`with_computed`):
the device's `odometer_m` or `motion` stays as it came, and camtel's own figures live under
names of their own (`distance_m`, `total_distance_m`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from camtel.bus.base import Envelope
from camtel.pipeline import filter as position_filter
from camtel.pipeline import motion
from camtel.pipeline.events_stages import EventRules, event_stages
from camtel.pipeline.state import DeviceState, Stage

if TYPE_CHECKING:
    from camtel.geofences.book import FenceBook


def filter_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    assert envelope.position is not None
    return position_filter.judge(envelope.position, envelope.dedup, state.filter, now)


def with_computed(reported: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
    """The device's attributes with computed ones added where the device said nothing.

    Like Traccar, a device's own `motion` (a movement sensor) is trusted over the estimate
    from speed; a free-form input (OsmAnd extras, MQTT attributes) that happens to send a
    computed name keeps its own value too.
    """
    merged = dict(reported)
    for name, value in computed.items():
        merged.setdefault(name, value)
    return merged


def motion_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    position = envelope.position
    assert position is not None
    added = motion.advance(state.motion, position)
    envelope.position = replace(position, attributes=with_computed(position.attributes, added))
    return None


def build_stages(
    book: FenceBook | None = None, rules: EventRules | None = None
) -> tuple[tuple[str, Stage], ...]:
    """Every stage in order; `book` gives the event stages fences and device speed limits."""
    return (
        ("filter", filter_stage),
        ("motion", motion_stage),
        *event_stages(book, rules),  # geofence, overspeed, alarms, ignition, motion events
    )


STAGES: tuple[tuple[str, Stage], ...] = build_stages()
