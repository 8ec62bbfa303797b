"""What the stages remember about one device between its positions, and the shape of a stage.

The per-device state is touched only by the worker that owns the device's partition. It lives
apart from the stages so that the filter, motion and event stages all build on it without
importing one another's modules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from camtel.bus.base import Envelope
from camtel.events import alarms, ignition, overspeed
from camtel.events import geofence as fences
from camtel.events import motion as motion_events
from camtel.messages import DeviceEvent
from camtel.pipeline import filter as position_filter
from camtel.pipeline import motion


@dataclass(slots=True)
class EventState:
    """Every event state machine of one device."""

    last_time: datetime | None = None
    geofence: fences.GeofenceState[uuid.UUID] = field(default_factory=fences.GeofenceState)
    fences_seen: object = None
    overspeed: overspeed.OverspeedState = field(default_factory=overspeed.OverspeedState)
    alarms: alarms.AlarmState = field(default_factory=alarms.AlarmState)
    ignition: ignition.IgnitionState = field(default_factory=ignition.IgnitionState)
    motion: motion_events.MotionEventState = field(default_factory=motion_events.MotionEventState)
    #: Events decided for a fix whose write failed; they ride on the device's next fix.
    unsent: list[DeviceEvent] = field(default_factory=list)


@dataclass(slots=True)
class DeviceState:
    """Everything the stages remember about one device between its positions."""

    filter: position_filter.FilterState = field(default_factory=position_filter.FilterState)
    motion: motion.MotionState = field(default_factory=motion.MotionState)
    events: EventState = field(default_factory=EventState)


#: A stage: `(envelope, state, now) -> drop reason | None`; it may replace `envelope.position`.
Stage = Callable[[Envelope, DeviceState, datetime], str | None]
