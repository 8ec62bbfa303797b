"""Trips and the summary report on a simulated day of driving: the simulator's own ground
truth (ignition, odometer, speeds) against what camtel derives from the stored positions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from camtel.devices.models import Position as Row
from camtel.messages import Position
from camtel.pipeline.motion import MotionState, advance
from camtel.sim.routes import route_points
from helpers.accounts import sign_up

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
STEP_S = 10
HOURS = 12


def ground_truth(points):  # type: ignore[no-untyped-def]
    """Journeys between parkings (ignition off for at least 5 minutes), as the simulator drove
    them: (start, end, odometer metres, top speed)."""
    journeys, current, parked_since = [], None, None
    for p in points:
        if not p.ignition:
            parked_since = parked_since or p.time
            if current and p.time - parked_since >= timedelta(minutes=5):
                journeys.append(current)
                current = None
            continue
        parked_since = None
        if p.speed_kmh > 0:
            if current is None:
                current = [p, p]
            current[1] = p
    if current:
        journeys.append(current)
    return [
        (
            a.time,
            b.time,
            b.odometer_m - a.odometer_m,
            max(q.speed_kmh for q in points if a.time <= q.time <= b.time),
        )
        for a, b in journeys
        if b.odometer_m - a.odometer_m >= 500
    ]


@pytest.fixture
def day():  # type: ignore[no-untyped-def]
    return route_points(seed=7, start=START, interval_s=STEP_S, count=HOURS * 3600 // STEP_S)


async def test_trips_and_report_match_the_drive(client, services, day):
    truth = ground_truth(day)
    assert len(truth) >= 3, "the simulated day has several journeys"
    headers, _ = await sign_up(client, services, "day@example.com")
    device = (
        await client.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": "Van", "unique_id": "day-1", "protocol": "osmand"},
        )
    ).json()
    state = MotionState()
    async with services.database.session() as db:
        for p in day:
            fix = Position(
                "osmand",
                "day-1",
                p.time,
                p.latitude,
                p.longitude,
                speed_kmh=p.speed_kmh,
                course=p.course,
                altitude=p.altitude_m,
                attributes={"ignition": p.ignition},
            )
            added = advance(state, fix)  # what the pipeline's motion stage adds
            db.add(
                Row(
                    device_id=uuid.UUID(device["id"]),
                    time=p.time,
                    server_time=p.time,
                    latitude=p.latitude,
                    longitude=p.longitude,
                    speed_kmh=p.speed_kmh,
                    course=p.course,
                    altitude=p.altitude_m,
                    attributes={"ignition": p.ignition, **added},
                )
            )
    window = {"from": START.isoformat(), "to": (START + timedelta(hours=HOURS)).isoformat()}
    trips = (
        await client.get(f"/api/v1/devices/{device['id']}/trips", headers=headers, params=window)
    ).json()
    assert len(trips) == len(truth), (len(trips), len(truth))
    for trip, (begin, end, metres, top) in zip(trips, truth, strict=True):
        assert abs(datetime.fromisoformat(trip["start"]["time"]) - begin) <= timedelta(
            seconds=2 * STEP_S
        )
        assert abs(datetime.fromisoformat(trip["end"]["time"]) - end) <= timedelta(
            seconds=2 * STEP_S
        )
        # 3 %, or one 10-second step at town speed for short hops (where a trip's first and
        # last fix fall between the simulator's own odometer readings).
        assert trip["distance_m"] == pytest.approx(metres, rel=0.03, abs=150)
        assert trip["max_speed_kmh"] == pytest.approx(top, abs=0.5)
    stops = (
        await client.get(f"/api/v1/devices/{device['id']}/stops", headers=headers, params=window)
    ).json()
    assert len(stops) >= len(truth) - 1
    report = (
        await client.get(
            "/api/v1/reports/summary", headers=headers, params={**window, "device_id": device["id"]}
        )
    ).json()
    [summary] = report["devices"]
    assert summary["trips"] == len(trips)
    assert summary["distance_m"] == pytest.approx(sum(t["distance_m"] for t in trips), rel=1e-6)
    assert summary["distance_m"] == pytest.approx(sum(m for _, _, m, _ in truth), rel=0.03)
    assert summary["max_speed_kmh"] == pytest.approx(max(p.speed_kmh for p in day), abs=0.5)
    driving = sum(STEP_S for p in day if p.ignition and p.speed_kmh > 0)
    assert summary["driving_s"] == pytest.approx(driving, rel=0.1)
