"""Demo data for `camtel demo`: an organisation, a login, dash cams, fences and recordings."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.caller import Caller, load_caller
from camtel.accounts.models import User
from camtel.accounts.service import create_account
from camtel.devices import service as devices
from camtel.devices.models import Device
from camtel.services import Services
from camtel.sim.fleet import Fleet, FleetConfig, phone_number

DEMO_PHONE = "+49 151 23456789"
DEMO_PREFIX = "0138"
#: Recordings with embedded GPS tracks the demo's first dash cams have made (seconds long).
DEMO_RECORDINGS = ((1, 45), (2, 40), (3, 35))


async def seed(services: Services, *, email: str, password: str) -> None:
    """Create (or refresh) the demo account and its devices; the password is new each run."""
    from camtel.accounts import passwords

    now = services.clock()
    async with services.database.session() as db:
        user = await db.scalar(select(User).where(User.email == email))
        if user is None:
            user = await create_account(
                db,
                email=email,
                phone=DEMO_PHONE,
                password=password,
                display_name="Demo",
                adult=True,  # a made-up fleet owner: the privacy centre asks no age of it
                organization_name="Demo fleet",
                min_length=8,
                now=now,
                verified=True,
            )
        else:
            user.password_hash = passwords.hash_password(password)
        caller = await load_caller(db, user=user, session=None)
        await _fence_city_centres(db, caller=caller, now=now)
        for n in range(1, services.settings.demo_devices + 1):
            unique_id = phone_number(DEMO_PREFIX, n)
            exists = await db.scalar(
                select(Device.id).where(Device.protocol == "jt808", Device.unique_id == unique_id)
            )
            if exists is None:
                await devices.create(
                    db,
                    caller=caller,
                    name=f"Dash cam {n}",
                    unique_id=unique_id,
                    protocol="jt808",
                    now=now,
                )
        await _alerts_to_inbox(db, caller=caller, now=now)
        await _recordings(services, db, caller=caller, now=now)


def drive(services: Services, *, port: int) -> asyncio.Task[object]:
    """Start the demo fleet: simulated JT/T 808 dash cams driving against our own gateway."""
    config = FleetConfig(
        devices=services.settings.demo_devices,
        host="127.0.0.1",
        port=port,
        rate=0.2,
        duration=None,
        prefix=DEMO_PREFIX,
    )
    return asyncio.create_task(Fleet(config).run(), name="demo-fleet")


async def _fence_city_centres(db: AsyncSession, *, caller: Caller, now: datetime) -> None:
    """Two fences around the centre of each city the simulated dash cams drive in (they roam
    about 6 km around it): a 3 km circle ("<city> centre") and a 2.5 km square of streets
    ("<city> old town"), so the demo shows enter/exit events and notifications at once."""
    from camtel.geofences import service as fences
    from camtel.geofences.models import Geofence
    from camtel.sim.routes import CITIES

    existing = set(await db.scalars(select(Geofence.name)))
    for city in CITIES:
        name = f"{city.name} centre"
        if name not in existing:
            await fences.create(
                db,
                caller=caller,
                name=name,
                radius_m=3000,
                now=now,
                area={"type": "Point", "coordinates": [city.longitude, city.latitude]},
            )
        name = f"{city.name} old town"
        if name not in existing:
            dlat = 1250 / 111_320
            dlon = dlat / max(0.2, math.cos(math.radians(city.latitude)))
            lat, lon = city.latitude, city.longitude
            ring = [
                [lon - dlon, lat - dlat],
                [lon + dlon, lat - dlat],
                [lon + dlon, lat + dlat],
                [lon - dlon, lat + dlat],
                [lon - dlon, lat - dlat],
            ]
            await fences.create(
                db,
                caller=caller,
                name=name,
                now=now,
                area={"type": "Polygon", "coordinates": [ring]},
            )


async def _alerts_to_inbox(db: AsyncSession, *, caller: Caller, now: datetime) -> None:
    """The demo login is told of fence crossings, speeding and G-sensor events in its inbox."""
    from camtel.notify import service as notify
    from camtel.notify.models import NotificationRule

    mine = select(NotificationRule.id).where(NotificationRule.user_id == caller.user.id)
    if await db.scalar(mine):
        return
    await notify.create_rule(
        db,
        caller=caller,
        fields={
            "name": "Demo alerts",
            "channels": ["inbox"],
            "event_types": [
                "geofence_enter",
                "geofence_exit",
                "overspeed",
                "alarm",
                "collision",
                "harsh_event",
                "harsh_braking",
                "harsh_acceleration",
            ],
        },
        now=now,
    )


def demo_clip(cache: Path, number: int, seconds: int, now: datetime) -> bytes:
    """A dash cam recording of the demo (H.264, Novatek GPS track with a hard stop), made once
    and kept in `cache`: encoding takes a few seconds, so a restart reuses it."""
    from camtel.sim.recording import dashcam_recording, demo_drive_points, hard_brake

    path = cache / f"demo-drive-{number}.mp4"
    if path.is_file():
        return path.read_bytes()
    start = (now - timedelta(hours=number)).replace(microsecond=0)
    points = hard_brake(demo_drive_points(number, start, seconds), seconds * 2 // 3)
    data = dashcam_recording(points)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(path)
    return data


async def _recordings(
    services: Services, db: AsyncSession, *, caller: Caller, now: datetime
) -> None:
    """Store the demo recordings for the first dash cams, once; the analyzer (running in
    `camtel serve`) reads their tracks and G-sensor, or picks them up when it starts."""
    from camtel.media import service as media
    from camtel.media.models import Media

    lib = services.media
    owner = caller.user.id
    have = set(await db.scalars(select(Media.filename).where(Media.owner_id == owner)))
    cache = services.settings.data_dir / "demo"
    for number, seconds in DEMO_RECORDINGS:
        filename = f"demo-drive-{number}.mp4"
        device_id = await db.scalar(
            select(Device.id).where(
                Device.protocol == "jt808", Device.unique_id == phone_number(DEMO_PREFIX, number)
            )
        )
        if filename in have or device_id is None:
            continue
        data = await asyncio.to_thread(demo_clip, cache, number, seconds, now)
        organization_id, device_id = await media.target(db, caller=caller, device_id=device_id)
        row = Media(
            id=media.new_media_id(),
            owner_id=owner,
            organization_id=organization_id,
            device_id=device_id,
            filename=filename,
            content_type="video/mp4",
            kind="video",
            channel="front",
            created_at=now,
        )
        row.storage_key = media.object_key(owner, str(row.id))

        async def chunks(payload: bytes = data) -> AsyncIterator[bytes]:
            yield payload

        row.size, row.sha256 = await media.put_object(
            lib,
            data_key=await media.ensure_key(db, lib, owner),
            key=row.storage_key,
            object_id=row.id.bytes,
            chunks=chunks(),
            limit=len(data),
        )
        db.add(row)
        await db.commit()  # the analyzer reads it in its own session
        lib.submit(row.id)
