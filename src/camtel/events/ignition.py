"""Ignition on and off, from the `ignition` attribute a device reports. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from camtel.messages import DeviceEvent


@dataclass(slots=True)
class IgnitionState:
    """The ignition at the previous fix; None until a fix says."""

    on: bool | None = None


def observe(
    state: IgnitionState,
    *,
    time: datetime,
    ignition: object,
    latitude: float | None = None,
    longitude: float | None = None,
) -> DeviceEvent | None:
    """The event when the ignition changed; the first reading only sets the state."""
    if not isinstance(ignition, bool):
        return None
    before, state.on = state.on, ignition
    if before is None or before == ignition:
        return None
    kind = "ignition_on" if ignition else "ignition_off"
    return DeviceEvent(
        kind, time, f"{kind}:{time.isoformat()}", latitude=latitude, longitude=longitude
    )
