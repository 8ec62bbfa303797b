"""What every protocol decoder returns, and the sanity check every decoded position passes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from camtel.messages import Message, Position, Rejected

#: The fastest a land vehicle plausibly reports (km/h); above is a decoding error or a glitch.
MAX_SPEED_KMH = 1000.0
#: How far ahead of the server clock a device time may be before it is treated as wrong.
MAX_FUTURE = timedelta(days=1)


@dataclass(slots=True)
class Decoded:
    """The outcome of decoding one frame: messages for the pipeline, bytes for the device."""

    messages: list[Message] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)
    rejected: Rejected | None = None


def position_problem(position: Position, now: datetime) -> str | None:
    """Name what is physically impossible about a position, or None when it is plausible."""
    if not -90.0 <= position.latitude <= 90.0:
        return "latitude_out_of_range"
    if not -180.0 <= position.longitude <= 180.0:
        return "longitude_out_of_range"
    if position.course is not None and not 0.0 <= position.course < 360.0:
        return "course_out_of_range"
    if position.speed_kmh is not None and not 0.0 <= position.speed_kmh <= MAX_SPEED_KMH:
        return "speed_out_of_range"
    if position.time.tzinfo is None:
        return "time_without_zone"
    if position.time > now + MAX_FUTURE:
        return "time_in_future"
    return None


def keep_plausible(positions: Iterable[Position], now: datetime) -> Decoded:
    """The positions `position_problem` passes, and the first problem of those it drops.

    What is dropped is still acknowledged by the caller: sending it again would not make it
    plausible.
    """
    decoded = Decoded()
    for position in positions:
        problem = position_problem(position, now)
        if problem is None:
            decoded.messages.append(position)
        elif decoded.rejected is None:
            decoded.rejected = Rejected(f"implausible_position:{problem}")
    return decoded
