"""Each event state machine alone, without I/O: hysteresis, durations, edges, silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from camtel.events import alarms, geofence, ignition, motion, online, overspeed

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run_fence(distances: list[float], rule: geofence.Hysteresis = geofence.Hysteresis(),
              every_s: float = 5, inside: bool = False) -> list[tuple[int, bool]]:
    state = geofence.GeofenceState({"f": geofence.FenceTrack(inside=inside)})
    out = []
    for n, d in enumerate(distances):
        for c in geofence.observe(state, time=at(n * every_s), distances={"f": d},
                                  watched=["f"], rule=rule):
            out.append((n, c.entered))
    return out


def test_clear_crossings_count_at_once():
    assert run_fence([-200, -50, 30, 80, 30, -25, -300]) == [(2, True), (5, False)]


def test_jitter_at_the_edge_does_not_flap():
    jitter = [4, -3, 6, -5, 2, -4, 3, -2, 5, -6] * 5
    assert run_fence(jitter, inside=True) == []
    assert run_fence(jitter, inside=False) == []


def test_parking_just_outside_still_exits_after_the_confirmation():
    # 8 m outside: under the margin, but three fixes over ten seconds confirm it.
    assert run_fence([50, -8, -8, -8, -8], inside=True) == [(3, False)]
    # ...not when the fixes come faster than the confirmation time
    fast = geofence.Hysteresis(confirm_fixes=3, confirm_s=10)
    assert run_fence([50, -8, -8, -8], fast, every_s=1, inside=True) == []


def test_small_fence_caps_the_margin():
    state = geofence.GeofenceState()
    [crossing] = geofence.observe(state, time=T0, distances={"f": 4.0}, watched=["f"],
                                  margin_caps={"f": 4.0})
    assert crossing.entered


def test_far_away_and_unwatched_fences():
    state = geofence.GeofenceState({"f": geofence.FenceTrack(inside=True)})
    [exit_] = geofence.observe(state, time=T0, distances={}, watched=["f"])
    assert not exit_.entered  # missing from distances = far outside
    state.tracks["f"].inside = True
    assert geofence.observe(state, time=T0, distances={}, watched=[]) == []
    geofence.forget(state, keep=[])
    assert state.tracks == {}


def test_overspeed_needs_the_minimum_duration_and_is_one_event():
    state = overspeed.OverspeedState()
    limit = overspeed.Limit(50, "device")
    speeds = [40, 55, 60, 70, 65, 62, 45, 58, 58, 58]
    events = [overspeed.observe(state, time=at(n * 5), speed_kmh=s, limit=limit,
                                min_duration_s=10) for n, s in enumerate(speeds)]
    fired = [(n, e) for n, e in enumerate(events) if e is not None]
    assert [n for n, _ in fired] == [3, 9]
    first = fired[0][1]
    assert first.type == "overspeed" and first.attributes["speed_kmh"] == 70
    assert first.attributes["limit_kmh"] == 50 and first.cause == f"overspeed:{at(5).isoformat()}"
    assert overspeed.observe(state, time=at(99), speed_kmh=200, limit=None) is None
    assert overspeed.lowest([overspeed.Limit(80, "device"), overspeed.Limit(30, "f")]).kmh == 30


def test_alarms_fire_when_they_come_on():
    state = alarms.AlarmState()
    first = alarms.observe(state, time=T0, alarms=("sos", "camera_fault"))
    assert [(e.type, e.attributes["alarm"], e.urgent) for e in first] == [("alarm", "sos", True)]
    assert alarms.observe(state, time=at(5), alarms=("sos",)) == []  # still held: no repeat
    later = alarms.observe(state, time=at(10), alarms=("hard_braking", "adas_lane_departure",
                                                       "fatigue", "collision"))
    assert [(e.type, e.urgent) for e in later] == [
        ("harsh_braking", False), ("alarm", False), ("alarm", False), ("alarm", True)]
    assert alarms.observe(state, time=at(15), alarms=()) == []
    assert len(alarms.observe(state, time=at(20), alarms=("sos",))) == 1  # pressed again


def test_ignition_and_motion_edges():
    state = ignition.IgnitionState()
    seen = [ignition.observe(state, time=at(n), ignition=v)
            for n, v in enumerate([False, False, True, True, "?", False])]
    assert [e.type for e in seen if e] == ["ignition_on", "ignition_off"]
    moving = motion.MotionEventState()
    seen = [motion.observe(moving, time=at(n), moving=v)
            for n, v in enumerate([True, True, False, None, True])]
    assert [e.type for e in seen if e] == ["motion_stop", "motion_start"]


def test_online_and_offline():
    silence = timedelta(minutes=10)
    now = at(3600)
    heard = now - timedelta(minutes=1)
    first = online.decide(last_seen_at=heard, last_type=None, last_time=None, now=now,
                          silence=silence)
    assert first is not None and first.type == "device_online"
    assert online.decide(last_seen_at=heard, last_type="device_online", last_time=heard,
                         now=now, silence=silence) is None
    quiet = now - timedelta(minutes=30)
    offline = online.decide(last_seen_at=quiet, last_type="device_online", last_time=quiet,
                            now=now, silence=silence)
    assert offline is not None and offline.type == "device_offline"
    assert offline.time == quiet + silence
    assert online.decide(last_seen_at=quiet, last_type="device_offline", last_time=offline.time,
                         now=now, silence=silence) is None
    back = online.decide(last_seen_at=heard, last_type="device_offline",
                         last_time=offline.time, now=now, silence=silence)
    assert back is not None and back.type == "device_online"
    assert back.cause == f"device_online:{offline.time.isoformat()}"
    assert online.decide(last_seen_at=None, last_type=None, last_time=None, now=now,
                         silence=silence) is None
