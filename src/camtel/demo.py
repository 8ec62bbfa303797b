"""Demo data for `camtel demo`: an organisation, a login and a few dash cams."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from camtel.accounts.caller import load_caller
from camtel.accounts.models import User
from camtel.accounts.service import create_account
from camtel.devices import service as devices
from camtel.devices.models import Device
from camtel.services import Services
from camtel.sim.fleet import Fleet, FleetConfig, phone_number

DEMO_PHONE = "+49 151 23456789"
DEMO_PREFIX = "0138"


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


async def _fence_city_centres(db, *, caller, now) -> None:  # type: ignore[no-untyped-def]
    """A 3 km "City centre" fence around each city the simulated dash cams drive in (they roam
    about 6 km around it), so the demo shows enter/exit events and notifications."""
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
