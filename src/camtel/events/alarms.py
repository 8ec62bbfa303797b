"""Device alarms become events when they come on (an alarm held over many fixes is one). Pure.

Names come from the protocol decoders (`Position.alarms`): JT/T 808 alarm bits and ADAS/DMS
items, Teltonika's event IO. Faults of the device itself (display, TTS, card reader) are
not events for people and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from camtel.messages import DeviceEvent

#: Alarms that are pushed first and ignore quiet hours.
URGENT = frozenset({"sos", "collision", "rollover", "accident"})

#: Alarm name -> event type, for alarms that have a type of their own.
OWN_TYPES = {
    "harsh_braking": "harsh_braking",
    "hard_braking": "harsh_braking",
    "harsh_acceleration": "harsh_acceleration",
    "hard_acceleration": "harsh_acceleration",
    "hard_cornering": "harsh_event",
    "harsh_cornering": "harsh_event",
}

#: Alarms reported as `alarm` events (attributes.alarm names which).
ALARMS = frozenset(
    {
        "sos",
        "collision",
        "rollover",
        "accident",
        "fatigue",
        "fatigue_warning",
        "driving_time_exceeded",
        "power_cut",
        "power_undervoltage",
        "gnss_antenna_disconnected",
        "stolen",
        "tow",
        "jamming",
        "illegal_ignition",
        "illegal_movement",
        "illegal_door_open",
        "overspeed",
        "overspeed_warning",
        "early_warning",
    }
)
#: Driver-assistance and driver-monitoring alarms are all reported.
PREFIXES = ("adas_", "dms_")


@dataclass(slots=True)
class AlarmState:
    """Alarms that were on at the previous fix."""

    active: frozenset[str] = field(default_factory=frozenset)


def event_type(alarm: str) -> str | None:
    """The event type an alarm becomes, or None when it is not an event."""
    if alarm in OWN_TYPES:
        return OWN_TYPES[alarm]
    if alarm in ALARMS or alarm.startswith(PREFIXES):
        return "alarm"
    return None


def observe(
    state: AlarmState,
    *,
    time: datetime,
    alarms: tuple[str, ...],
    latitude: float | None = None,
    longitude: float | None = None,
) -> list[DeviceEvent]:
    """Events for the alarms that came on with this fix."""
    current = frozenset(alarms)
    events = []
    for alarm in alarms:
        if alarm in state.active:
            continue
        kind = event_type(alarm)
        if kind is None:
            continue
        events.append(
            DeviceEvent(
                kind,
                time,
                f"{kind}:{alarm}:{time.isoformat()}",
                urgent=alarm in URGENT,
                latitude=latitude,
                longitude=longitude,
                attributes={"alarm": alarm},
            )
        )
    state.active = current
    return events
