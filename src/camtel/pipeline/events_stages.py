"""Event stages: each feeds one fix to a pure state machine in `camtel.events` and puts what
it decides on `envelope.events`, which the store writes in the same transaction as the fix.

    geofence  → geofence_enter / geofence_exit (fences from the FenceBook)
    overspeed → overspeed (lowest of the device's and the entered fences' limits)
    alarms    → alarm, harsh_braking, harsh_acceleration, harsh_event
    ignition  → ignition_on / ignition_off
    motion    → motion_start / motion_stop
    events    → re-attaches events whose write failed, so they are not lost

Late fixes (older than one already seen: history uploaded after a dead zone) and invalid
fixes are stored but do not drive the state machines: replaying the past would announce
crossings and alarms that are long over, in the wrong order.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from camtel.bus.base import Envelope
from camtel.events import alarms, ignition, overspeed
from camtel.events import geofence as fences
from camtel.events import motion as motion_events
from camtel.geofences.schedule import is_active
from camtel.messages import DeviceEvent, Position
from camtel.pipeline.state import DeviceState, EventState, Stage

if TYPE_CHECKING:
    from camtel.geofences.book import FenceBook, OrgFences

#: Events kept for a device while its writes fail.
UNSENT_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class EventRules:
    """The tunable parts of the event state machines (from settings)."""

    hysteresis: fences.Hysteresis = field(default_factory=fences.Hysteresis)
    overspeed_min_s: float = overspeed.MIN_DURATION_S
    overspeed_tolerance_kmh: float = 0.0


def _fresh(state: EventState, position: Position) -> bool:
    return state.last_time is None or position.time > state.last_time


def _geofence_stage(book: FenceBook | None, rules: EventRules) -> Stage:
    margin = rules.hysteresis.margin_m
    #: Distances measured ahead for the envelopes of the batch being processed, by id().
    measured: dict[int, dict[int, float]] = {}

    def prime(batch: list[Envelope]) -> None:
        """Measure a batch's fixes against their organisations' fences in one go per fence
        (called right before the batch's envelopes go through the stages, with no await in
        between: the measures cannot outlive their envelopes)."""
        measured.clear()
        if book is None:
            return
        by_org: dict[int, tuple[OrgFences, list[Envelope]]] = {}
        for envelope in batch:
            position = envelope.position
            if position is None or not position.valid:
                continue
            view = book.view(envelope.device_id)
            if view is not None:
                by_org.setdefault(id(view[1]), (view[1], []))[1].append(envelope)
        for org, envelopes in by_org.values():
            if len(envelopes) < 2:
                continue  # one fix: measured on its own when its turn comes
            # Only envelopes with a valid position were grouped (no cast per fix: hot path).
            lons = [e.position.longitude for e in envelopes]  # type: ignore[union-attr]
            lats = [e.position.latitude for e in envelopes]  # type: ignore[union-attr]
            for envelope, near in zip(
                envelopes, org.index.signed_distances_many(lons, lats, margin), strict=True
            ):
                measured[id(envelope)] = near

    def geofence_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
        position, ev = envelope.position, state.events
        assert position is not None
        near = measured.pop(id(envelope), None)
        if book is None or not position.valid or not _fresh(ev, position):
            return None
        view = book.view(envelope.device_id)
        if view is None:
            return None
        info, org = view
        if ev.fences_seen is not org:  # fences were reloaded: drop tracks of deleted ones
            fences.forget(ev.geofence, org.by_id)
            ev.fences_seen = org
        if near is None:
            near = org.index.signed_distances(position.longitude, position.latitude, margin)
        distances = {org.rules[i].id: d for i, d in near.items()}
        candidates = set(distances) | set(info.inside)
        candidates |= {f for f, t in ev.geofence.tracks.items() if t.inside or t.streak}
        watched = []
        for fence_id in candidates:
            rule = org.by_id.get(fence_id)
            if rule is None or not rule.applies_to(info.id, info.group_id):
                continue
            if not is_active(rule.schedule, position.time):
                continue
            if fence_id not in ev.geofence.tracks:
                ev.geofence.tracks[fence_id] = fences.FenceTrack(inside=fence_id in info.inside)
            watched.append(fence_id)
        crossings = fences.observe(
            ev.geofence,
            time=position.time,
            distances=distances,
            watched=watched,
            rule=rules.hysteresis,
            margin_caps={f: org.by_id[f].margin_cap_m for f in watched},
        )
        for crossing in crossings:
            rule = org.by_id[crossing.fence]
            kind = "geofence_enter" if crossing.entered else "geofence_exit"
            breach = rule.breach_on == ("enter" if crossing.entered else "exit")
            distance = crossing.distance_m
            envelope.events.append(
                DeviceEvent(
                    kind,
                    position.time,
                    f"{kind}:{rule.id}:{position.time.isoformat()}",
                    urgent=breach,
                    latitude=position.latitude,
                    longitude=position.longitude,
                    attributes={
                        "fence_id": str(rule.id),
                        "fence_name": rule.name,
                        "breach": breach,
                        "distance_m": round(distance, 1) if math.isfinite(distance) else None,
                    },
                )
            )
        return None

    # An attribute of the function, which the worker finds with hasattr(stage, "prime").
    geofence_stage.prime = prime  # type: ignore[attr-defined]
    return geofence_stage


def _overspeed_stage(book: FenceBook | None, rules: EventRules) -> Stage:
    def overspeed_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
        position, ev = envelope.position, state.events
        assert position is not None
        if book is None or not position.valid or not _fresh(ev, position):
            return None
        view = book.view(envelope.device_id)
        if view is None:
            return None
        info, org = view
        limits = []
        if info.speed_limit_kmh is not None:
            limits.append(overspeed.Limit(info.speed_limit_kmh, "device"))
        for fence_id in ev.geofence.inside():
            rule = org.by_id.get(fence_id)
            if (
                rule is not None
                and rule.speed_limit_kmh
                and is_active(rule.schedule, position.time)
            ):
                limits.append(overspeed.Limit(rule.speed_limit_kmh, str(rule.id)))
        event = overspeed.observe(
            ev.overspeed,
            time=position.time,
            speed_kmh=position.speed_kmh,
            limit=overspeed.lowest(limits),
            latitude=position.latitude,
            longitude=position.longitude,
            min_duration_s=rules.overspeed_min_s,
            tolerance_kmh=rules.overspeed_tolerance_kmh,
        )
        if event is not None:
            envelope.events.append(event)
        return None

    return overspeed_stage


def alarm_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    position, ev = envelope.position, state.events
    assert position is not None
    if not _fresh(ev, position):
        return None
    envelope.events.extend(
        alarms.observe(
            ev.alarms,
            time=position.time,
            alarms=position.alarms,
            latitude=position.latitude,
            longitude=position.longitude,
        )
    )
    return None


def ignition_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    position, ev = envelope.position, state.events
    assert position is not None
    if not _fresh(ev, position):
        return None
    event = ignition.observe(
        ev.ignition,
        time=position.time,
        ignition=position.attributes.get("ignition"),
        latitude=position.latitude,
        longitude=position.longitude,
    )
    if event is not None:
        envelope.events.append(event)
    return None


def motion_event_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    position, ev = envelope.position, state.events
    assert position is not None
    if not _fresh(ev, position):
        return None
    event = motion_events.observe(
        ev.motion,
        time=position.time,
        moving=position.attributes.get("motion"),
        latitude=position.latitude,
        longitude=position.longitude,
    )
    if event is not None:
        envelope.events.append(event)
    return None


def outbox_stage(envelope: Envelope, state: DeviceState, now: datetime) -> str | None:
    """Move the clock on, and keep this fix's events until the store says they are durable."""
    position, ev = envelope.position, state.events
    assert position is not None
    if _fresh(ev, position):
        ev.last_time = position.time
    if ev.unsent:
        envelope.events[:0] = ev.unsent
        ev.unsent = []
    if not envelope.events:
        return None
    if envelope.done is None:
        envelope.done = asyncio.get_running_loop().create_future()
    decided = list(envelope.events)

    def stored(done: asyncio.Future[None]) -> None:
        if done.cancelled() or done.exception() is not None:
            # Same causes: writing them again is a no-op if they did land after all. Bounded,
            # so a device whose writes keep failing does not grow without end.
            ev.unsent = (ev.unsent + decided)[-UNSENT_LIMIT:]

    envelope.done.add_done_callback(stored)
    return None


def event_stages(
    book: FenceBook | None = None, rules: EventRules | None = None
) -> tuple[tuple[str, Stage], ...]:
    """The event stages in order; without a book, fences and speed limits are not checked."""
    rules = rules or EventRules()
    return (
        ("geofence", _geofence_stage(book, rules)),
        ("overspeed", _overspeed_stage(book, rules)),
        ("alarms", alarm_stage),
        ("ignition", ignition_stage),
        ("motion_events", motion_event_stage),
        ("events", outbox_stage),
    )
