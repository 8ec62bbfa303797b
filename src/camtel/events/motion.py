"""Starting and stopping, from the `motion` flag the pipeline's motion stage adds. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from camtel.messages import DeviceEvent


@dataclass(slots=True)
class MotionEventState:
    """Whether the device was moving at the previous fix; None until known."""

    moving: bool | None = None


def observe(
    state: MotionEventState,
    *,
    time: datetime,
    moving: object,
    latitude: float | None = None,
    longitude: float | None = None,
) -> DeviceEvent | None:
    """The event when the device started or stopped; the first reading only sets the state."""
    if not isinstance(moving, bool):
        return None
    before, state.moving = state.moving, moving
    if before is None or before == moving:
        return None
    kind = "motion_start" if moving else "motion_stop"
    return DeviceEvent(
        kind, time, f"{kind}:{time.isoformat()}", latitude=latitude, longitude=longitude
    )
