"""The geofences API: create, list, change, delete; clear 422s; tenancy and roles."""

from __future__ import annotations

import pytest

from helpers.accounts import join, sign_up
from helpers.geofences import geofence_client

SQUARE = [[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]
CIRCLE = {"type": "Point", "coordinates": [13.405, 52.52]}


@pytest.fixture
async def gclient(services):  # type: ignore[no-untyped-def]
    async with geofence_client(services) as http:
        yield http


async def _device(client, headers, unique_id):  # type: ignore[no-untyped-def]
    made = await client.post("/api/v1/devices", headers=headers,
                             json={"name": unique_id, "unique_id": unique_id, "protocol": "osmand"})
    assert made.status_code == 201, made.text
    return made.json()


async def test_create_list_change_delete(gclient, services):
    alice, _ = await sign_up(gclient, services, "geo-a@example.com")
    device = await _device(gclient, alice, "7001")
    heard: list = []
    services.fence_listeners.append(heard.append)

    made = await gclient.post("/api/v1/geofences", headers=alice, json={
        "name": "Depot", "area": CIRCLE, "radius_m": 300, "speed_limit_kmh": 20,
        "schedule": {"time_zone": "Europe/Berlin", "days": ["mon", "tue"], "start": "07:00",
                     "end": "19:00"},
        "breach_on": "exit"})
    assert made.status_code == 201, made.text
    fence = made.json()
    assert fence["kind"] == "circle" and fence["radius_m"] == 300 and fence["device_ids"] == []
    assert fence["schedule"]["days"] == ["mon", "tue"] and fence["breach_on"] == "exit"
    assert [str(h) for h in heard] == [fence["organization_id"]]

    road = await gclient.post("/api/v1/geofences", headers=alice, json={
        "name": "Road", "area": {"type": "LineString", "coordinates": [[13, 52], [13.1, 52.1]]},
        "width_m": 40, "device_ids": [device["id"]]})
    assert road.status_code == 201, road.text
    assert road.json()["kind"] == "corridor" and road.json()["device_ids"] == [device["id"]]
    area = await gclient.post("/api/v1/geofences", headers=alice, json={
        "name": "Yard", "area": {"type": "Polygon", "coordinates": [SQUARE]}})
    assert area.status_code == 201 and area.json()["kind"] == "polygon"

    listed = await gclient.get("/api/v1/geofences", headers=alice, params={"limit": 2})
    assert [f["name"] for f in listed.json()] == ["Depot", "Road"]
    assert 'rel="next"' in listed.headers["link"]
    rest = await gclient.get(listed.links["next"]["url"], headers=alice)
    assert [f["name"] for f in rest.json()] == ["Yard"]

    one = await gclient.get(f"/api/v1/geofences/{fence['id']}", headers=alice)
    assert one.status_code == 200 and one.json()["area"] == CIRCLE

    changed = await gclient.patch(f"/api/v1/geofences/{fence['id']}", headers=alice,
                                  json={"radius_m": 500, "device_ids": [device["id"]]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["radius_m"] == 500 and changed.json()["device_ids"] == [device["id"]]
    reshaped = await gclient.patch(f"/api/v1/geofences/{fence['id']}", headers=alice, json={
        "area": {"type": "Polygon", "coordinates": [SQUARE]}})
    assert reshaped.status_code == 200, reshaped.text
    assert reshaped.json()["kind"] == "polygon" and reshaped.json()["radius_m"] is None
    bad = await gclient.patch(f"/api/v1/geofences/{fence['id']}", headers=alice,
                              json={"radius_m": 50})
    assert bad.status_code == 422 and "Point" in bad.json()["detail"]

    gone = await gclient.delete(f"/api/v1/geofences/{fence['id']}", headers=alice)
    assert gone.status_code == 204
    assert (await gclient.get(f"/api/v1/geofences/{fence['id']}", headers=alice)).status_code == 404
    assert len(heard) == 6  # 3 created, 2 changed, 1 deleted: the pipeline reloads each


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
         "area", "crosses itself"),
        ({"area": {"type": "Polygon", "coordinates": [SQUARE[:-1]]}}, "area", "open"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}}, "area",
         "at least 4"),
        ({"area": CIRCLE, "radius_m": 0}, None, "greater than 0"),
        ({"area": CIRCLE, "radius_m": 10_000_000}, "radius_m", "between"),
        ({"area": {"type": "Point", "coordinates": [13, 95]}, "radius_m": 100}, "area",
         "latitude 95"),
        ({"area": CIRCLE, "radius_m": 100, "schedule": {"time_zone": "Mars/Base"}}, "schedule",
         "time zone"),
    ],
)
async def test_bad_fences_get_a_clear_422(gclient, services, body, field, words):  # type: ignore[no-untyped-def]
    alice, _ = await sign_up(gclient, services, "geo-bad@example.com")
    answer = await gclient.post("/api/v1/geofences", headers=alice, json={"name": "X", **body})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert words in problem["detail"], problem
    if field is not None:
        assert problem.get("field") == field, problem


async def test_another_organisation_cannot_see_or_use_a_fence(gclient, services):
    alice, _ = await sign_up(gclient, services, "geo-owner@example.com")
    bob, _ = await sign_up(gclient, services, "geo-other@example.com", phone="+4915123456780")
    alice_device = await _device(gclient, alice, "7101")
    fence = (await gclient.post("/api/v1/geofences", headers=alice, json={
        "name": "Home", "area": CIRCLE, "radius_m": 100})).json()

    assert (await gclient.get("/api/v1/geofences", headers=bob)).json() == []
    url = f"/api/v1/geofences/{fence['id']}"
    assert (await gclient.get(url, headers=bob)).status_code == 404
    assert (await gclient.patch(url, headers=bob, json={"name": "Mine"})).status_code == 404
    assert (await gclient.delete(url, headers=bob)).status_code == 404
    # Bob cannot aim his fence at Alice's device, nor Alice's fence at his.
    stolen = await gclient.post("/api/v1/geofences", headers=bob, json={
        "name": "Spy", "area": CIRCLE, "radius_m": 100, "device_ids": [alice_device["id"]]})
    assert stolen.status_code == 422 and stolen.json()["field"] == "device_ids"
    bob_device = await _device(gclient, bob, "7102")
    mixed = await gclient.patch(url, headers=alice, json={"device_ids": [bob_device["id"]]})
    assert mixed.status_code == 422
    assert (await gclient.get(url, headers=alice)).json()["name"] == "Home"


async def test_viewers_read_but_do_not_edit(gclient, services):
    owner, _ = await sign_up(gclient, services, "geo-boss@example.com")
    viewer, _ = await sign_up(gclient, services, "geo-view@example.com", phone="+4915123456781")
    orgs = (await gclient.get("/api/v1/organizations", headers=owner)).json()
    org_id = orgs[0]["id"]
    await join(gclient, owner, org_id, "geo-view@example.com", "viewer", viewer)
    fence = (await gclient.post("/api/v1/geofences", headers=owner, json={
        "name": "Site", "area": CIRCLE, "radius_m": 100, "organization_id": org_id})).json()
    url = f"/api/v1/geofences/{fence['id']}"
    assert (await gclient.get(url, headers=viewer)).status_code == 200
    assert (await gclient.patch(url, headers=viewer, json={"name": "x"})).status_code == 403
    assert (await gclient.delete(url, headers=viewer)).status_code == 403
    made = await gclient.post("/api/v1/geofences", headers=viewer, json={
        "name": "V", "area": CIRCLE, "radius_m": 100, "organization_id": org_id})
    assert made.status_code == 403


async def test_a_driver_sees_only_their_own_vehicle_among_a_fences_devices(gclient, services):
    owner, _ = await sign_up(gclient, services, "geo-fleet@example.com")
    driver, driver_id = await sign_up(
        gclient, services, "geo-driver@example.com", phone="+4915123456782"
    )
    org_id = (await gclient.get("/api/v1/organizations", headers=owner)).json()[0]["id"]
    await join(gclient, owner, org_id, "geo-driver@example.com", "driver", driver)
    theirs = await _device(gclient, owner, "7201")
    other = await _device(gclient, owner, "7202")
    assigned = await gclient.patch(f"/api/v1/devices/{theirs['id']}", headers=owner,
                                   json={"driver_id": driver_id})
    assert assigned.status_code == 200, assigned.text
    fence = (await gclient.post("/api/v1/geofences", headers=owner, json={
        "name": "Depot", "area": CIRCLE, "radius_m": 100,
        "device_ids": [theirs["id"], other["id"]]})).json()
    assert sorted(fence["device_ids"]) == sorted([theirs["id"], other["id"]])

    url = f"/api/v1/geofences/{fence['id']}"
    assert (await gclient.get(url, headers=driver)).json()["device_ids"] == [theirs["id"]]
    listed = (await gclient.get("/api/v1/geofences", headers=driver)).json()
    assert [f["device_ids"] for f in listed] == [[theirs["id"]]]
    whole = (await gclient.get(url, headers=owner)).json()["device_ids"]
    assert sorted(whole) == sorted([theirs["id"], other["id"]])


async def test_needs_sign_in(gclient):
    assert (await gclient.get("/api/v1/geofences")).status_code == 401


async def test_a_corridor_is_built_off_the_event_loop(gclient, services, monkeypatch):
    """A long corridor takes up to ~0.4 s of CPU to buffer: built on the event loop, it would
    stall every device and request of the process meanwhile."""
    import threading

    from camtel.geofences import geometry

    built_on: list[threading.Thread] = []
    real = geometry.corridor_polygon

    def recorded(points, width_m):  # type: ignore[no-untyped-def]
        built_on.append(threading.current_thread())
        return real(points, width_m)

    monkeypatch.setattr(geometry, "corridor_polygon", recorded)
    alice, _ = await sign_up(gclient, services, "geo-thread@example.com")
    zigzag = [[13 + i * 0.001, 52 + (i % 2) * 0.001] for i in range(400)]
    made = await gclient.post("/api/v1/geofences", headers=alice, json={
        "name": "Zigzag", "area": {"type": "LineString", "coordinates": zigzag}, "width_m": 50})
    assert made.status_code == 201, made.text
    changed = await gclient.patch(f"/api/v1/geofences/{made.json()['id']}", headers=alice,
                                  json={"width_m": 80})
    assert changed.status_code == 200, changed.text
    assert len(built_on) >= 2 and threading.current_thread() not in built_on, built_on
