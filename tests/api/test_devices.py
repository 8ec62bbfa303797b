"""Devices, groups, positions and pagination through the API, with tenancy enforced."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from camtel.devices.models import Position
from helpers.accounts import join, sign_up

DEVICES = "/api/v1/devices"


async def _device(client, headers, unique_id="013912345678", protocol="jt808", **extra):  # type: ignore[no-untyped-def]
    answer = await client.post(
        DEVICES,
        headers=headers,
        json={"name": f"Van {unique_id}", "unique_id": unique_id, "protocol": protocol, **extra},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _positions(services, device_id, times):  # type: ignore[no-untyped-def]
    import uuid

    async with services.database.session() as db:
        for n, time in enumerate(times):
            db.add(
                Position(
                    device_id=uuid.UUID(device_id),
                    time=time,
                    server_time=time,
                    latitude=52.5 + n / 1000,
                    longitude=13.4,
                    speed_kmh=30.0,
                    course=90.0,
                    altitude=34.0,
                    attributes={"sat": 9},
                )
            )


async def test_create_list_rename_delete(client, services):
    headers, _ = await sign_up(client, services, "own@example.com")
    made = await _device(client, headers, "000012345678")
    assert made["unique_id"] == "000012345678", "leading zeros are kept"
    typed = await _device(client, headers, "13912345678")
    assert typed["unique_id"] == "013912345678", "padded as the device pads its number"
    await client.delete(f"{DEVICES}/{typed['id']}", headers=headers)
    assert made["status"] == "unknown"
    listed = (await client.get(DEVICES, headers=headers)).json()
    assert [d["id"] for d in listed] == [made["id"]]
    renamed = await client.patch(f"{DEVICES}/{made['id']}", headers=headers, json={"name": "Bus"})
    assert renamed.json()["name"] == "Bus"
    assert (await client.get(f"{DEVICES}/{made['id']}", headers=headers)).json()["name"] == "Bus"
    assert (await client.delete(f"{DEVICES}/{made['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{DEVICES}/{made['id']}", headers=headers)).status_code == 404
    assert (await client.get(DEVICES, headers=headers)).json() == []


async def test_unique_id_is_unique_per_protocol(client, services):
    headers, _ = await sign_up(client, services, "uniq@example.com")
    await _device(client, headers, "123456789012345", "teltonika")
    again = await client.post(
        DEVICES,
        headers=headers,
        json={"name": "x", "unique_id": "123456789012345", "protocol": "teltonika"},
    )
    assert again.status_code == 409
    other, _ = await sign_up(client, services, "uniq2@example.com")
    stolen = await client.post(
        DEVICES,
        headers=other,
        json={"name": "x", "unique_id": "123456789012345", "protocol": "teltonika"},
    )
    assert stolen.status_code == 409, "another organisation cannot take a registered device"
    same_id_other_protocol = await _device(client, headers, "123456789012345", "osmand")
    assert same_id_other_protocol["protocol"] == "osmand"


async def test_bad_devices_are_refused(client, services):
    headers, _ = await sign_up(client, services, "bad@example.com")
    cases = [
        {"name": "x", "unique_id": "12ab", "protocol": "jt808"},
        {"name": "x", "unique_id": "1", "protocol": "smoke-signals"},
        {"name": "", "unique_id": "1", "protocol": "osmand"},
        {"name": "x", "unique_id": "1", "protocol": "osmand", "owner": "me"},
        {"name": 5, "unique_id": "1", "protocol": "osmand"},
    ]
    for body in cases:
        answer = await client.post(DEVICES, headers=headers, json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert (await client.get(DEVICES, headers=headers)).json() == []


async def test_groups(client, services):
    headers, _ = await sign_up(client, services, "grp@example.com")
    group = (await client.post("/api/v1/groups", headers=headers, json={"name": "North"})).json()
    assert (
        await client.post("/api/v1/groups", headers=headers, json={"name": "North"})
    ).status_code == 409
    one = await _device(client, headers, "1001", "osmand", group_id=group["id"])
    await _device(client, headers, "1002", "osmand")
    north = (await client.get(DEVICES, headers=headers, params={"group_id": group["id"]})).json()
    assert [d["id"] for d in north] == [one["id"]]
    renamed = await client.patch(
        f"/api/v1/groups/{group['id']}", headers=headers, json={"name": "Nord"}
    )
    assert renamed.json()["name"] == "Nord"
    assert (
        await client.delete(f"/api/v1/groups/{group['id']}", headers=headers)
    ).status_code == 204
    device = (await client.get(f"{DEVICES}/{one['id']}", headers=headers)).json()
    assert device["group_id"] is None, "deleting a group keeps its devices"


async def test_positions_by_time_range_and_pages(client, services):
    headers, _ = await sign_up(client, services, "pos@example.com")
    device = await _device(client, headers)
    url = f"{DEVICES}/{device['id']}/positions"
    assert (await client.get(url, headers=headers)).json() == []
    start = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    times = [start + timedelta(seconds=10 * n) for n in range(25)]
    await _positions(services, device["id"], list(reversed(times)))
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    every = (await client.get(url, headers=headers, params=window)).json()
    assert len(every) == 25
    assert [p["time"] for p in every] == sorted(p["time"] for p in every), "oldest first"
    first = every[0]
    assert datetime.fromisoformat(first["time"]) == start
    assert set(first) >= {
        "time",
        "latitude",
        "longitude",
        "speed_kmh",
        "course",
        "altitude",
        "attributes",
    }
    seen, next_url, pages = [], url, 0
    params = window | {"limit": 10}
    while next_url:
        answer = await client.get(next_url, headers=headers, params=params)
        seen += answer.json()
        pages += 1
        link = answer.headers.get("link")
        next_url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
        params = None
    assert pages == 3
    assert seen == every, "pages join up to the whole range, no gaps, no repeats"
    narrow = {
        "from": (start + timedelta(seconds=100)).isoformat(),
        "to": (start + timedelta(seconds=140)).isoformat(),
    }
    assert len((await client.get(url, headers=headers, params=narrow)).json()) == 5
    default = (await client.get(url, headers=headers)).json()
    assert default == [], "by default only the last 24 hours"
    backwards = await client.get(
        url, headers=headers, params={"from": narrow["to"], "to": narrow["from"]}
    )
    assert backwards.status_code == 422
    naive = await client.get(url, headers=headers, params={"from": "2026-05-01T08:00:00"})
    assert naive.status_code == 422, "times need an offset"
    assert (await client.get(url, headers=headers, params={"cursor": "%%%"})).status_code == 422


async def test_one_organisation_never_sees_another(client, services):
    alice, _ = await sign_up(client, services, "alice@example.com")
    bob, _ = await sign_up(client, services, "bob@example.com")
    device = await _device(client, alice)
    await _positions(services, device["id"], [datetime.now(UTC) - timedelta(minutes=5)])
    assert len((await client.get(f"{DEVICES}/{device['id']}/positions", headers=alice)).json()) == 1

    assert (await client.get(DEVICES, headers=bob)).json() == []
    for method, path, body in [
        ("GET", f"{DEVICES}/{device['id']}", None),
        ("GET", f"{DEVICES}/{device['id']}/positions", None),
        ("PATCH", f"{DEVICES}/{device['id']}", {"name": "mine now"}),
        ("DELETE", f"{DEVICES}/{device['id']}", None),
    ]:
        answer = await client.request(method, path, headers=bob, json=body)
        assert answer.status_code == 404, (method, path, answer.status_code)
    org_a = (await client.get("/api/v1/organizations", headers=alice)).json()[0]["id"]
    assert (
        await client.get(f"/api/v1/organizations/{org_a}/members", headers=bob)
    ).status_code == 404
    sneaky = await client.post(
        DEVICES,
        headers=bob,
        json={"name": "x", "unique_id": "1", "protocol": "osmand", "organization_id": org_a},
    )
    assert sneaky.status_code == 404
    assert (await client.get(f"{DEVICES}/{device['id']}", headers=alice)).json()[
        "name"
    ] != "mine now"


async def test_roles_inside_an_organisation(client, services):
    owner, _ = await sign_up(client, services, "boss@example.com")
    viewer, _ = await sign_up(client, services, "look@example.com")
    driver, driver_id = await sign_up(client, services, "drive@example.com")
    org = (await client.get("/api/v1/organizations", headers=owner)).json()[0]["id"]
    members = f"/api/v1/organizations/{org}/members"
    await join(client, owner, org, "look@example.com", "viewer", viewer)
    await join(client, owner, org, "drive@example.com", "driver", driver)
    mine = await _device(client, owner, "2001", "osmand", organization_id=org, driver_id=driver_id)
    await _device(client, owner, "2002", "osmand", organization_id=org)

    assert len((await client.get(DEVICES, headers=viewer)).json()) == 2
    assert [
        d["id"]
        for d in (await client.get(DEVICES, headers=driver)).json()
        if d["organization_id"] == org
    ] == [mine["id"]], "a driver sees their own vehicle"
    refused = await client.post(
        DEVICES,
        headers=viewer,
        json={"name": "x", "unique_id": "2003", "protocol": "osmand", "organization_id": org},
    )
    assert refused.status_code == 403
    assert (
        await client.patch(f"{DEVICES}/{mine['id']}", headers=viewer, json={"name": "v"})
    ).status_code == 403
    assert (
        await client.post(
            members, headers=viewer, json={"email": "boss@example.com", "role": "owner"}
        )
    ).status_code == 403
    me = (await client.get("/api/v1/me", headers=owner)).json()["id"]
    last_owner = await client.delete(f"{members}/{me}", headers=owner)
    assert last_owner.status_code == 422, "an organisation keeps an owner"


async def test_pending_devices_are_for_operators(client, services):
    from camtel.devices.service import note_pending

    headers, _ = await sign_up(client, services, "notop@example.com")
    async with services.database.session() as db:
        await note_pending(db, protocol="jt808", unique_id="013900000001", now=datetime.now(UTC))
        await note_pending(db, protocol="jt808", unique_id="013900000001", now=datetime.now(UTC))
    assert (await client.get("/api/v1/pending-devices", headers=headers)).status_code == 403
    async with services.database.session() as db:
        from sqlalchemy import update

        from camtel.accounts.models import User

        await db.execute(update(User).values(is_admin=True))
    pending = (await client.get("/api/v1/pending-devices", headers=headers)).json()
    assert [(p["unique_id"], p["attempts"]) for p in pending] == [("013900000001", 2)]
    await _device(client, headers, "013900000001")
    assert (await client.get("/api/v1/pending-devices", headers=headers)).json() == [], "claimed"
