"""The live map's kept-ready answer (`devices.latest`) is what `service.newest_fixes` computes
from `positions`: after batches with late, older, repeated and same-time fixes, for every kind
of caller, and after fixes are deleted (retention, a removed device, any other way)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from pydantic_core import to_json
from sqlalchemy import delete, select

from camtel.accounts.caller import Caller
from camtel.accounts.models import User
from camtel.accounts.roles import Role
from camtel.bus.base import Envelope
from camtel.db.stored_json import servable
from camtel.devices import latest, service
from camtel.devices.models import LatestPosition, Position
from camtel.messages import Position as Fix
from camtel.pipeline.store import Store
from camtel.privacy import retention
from helpers import factories

T = datetime(2026, 12, 1, 8, 0, 0, 250_000, tzinfo=UTC)
EAST = timezone(timedelta(hours=8))


def _fix(device: uuid.UUID, at: datetime, dedup: int, n: float = 0.0, **attributes: object):  # type: ignore[no-untyped-def]
    position = Fix(protocol="osmand", unique_id="x", time=at, latitude=52.5 + n / 7,
                   longitude=13.4 - n / 9, valid=bool(int(n) % 2), speed_kmh=int(n) or None,
                   course=90, altitude=-3.5 if n else None, accuracy_m=5.0, source="gps",
                   alarms=("sos",) if n == 3 else (), attributes=dict(attributes))
    return Envelope(device_id=device, position=position, received_at=T, dedup=dedup)


async def _computed(services, caller: Caller) -> tuple[bytes, list[tuple]]:  # type: ignore[no-untyped-def,type-arg]
    """The answer and the audited devices as the route computed them before."""
    async with services.database.session() as db:
        rows = await service.latest_positions(db, caller=caller)
    body = to_json(service.shown(rows, head=service.LATEST_HEAD, extra=servable))
    driven = [(r[0], r[1], r[2]) for r in rows if r[1] is not None and r[1] != caller.user.id]
    return body, driven


async def _kept(services, caller: Caller) -> tuple[bytes, list[tuple]]:  # type: ignore[no-untyped-def,type-arg]
    async with services.database.session() as db:
        body, driven = await latest.answer(db, caller=caller)
    return body, [tuple(r) for r in driven]


async def _world(services):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        owner, driver = await factories.person(db), await factories.person(db)
        viewer, stranger = await factories.person(db), await factories.person(db)
        org = await factories.organization(
            db, members={owner: "owner", driver: "driver", viewer: "viewer"})
        other = await factories.organization(db, "Other", members={stranger: "owner"})
        driven = await factories.device(db, org, name="Driven", driver_id=driver.id)
        plain = await factories.device(db, org, name="Plain")
        quiet = await factories.device(db, org, name="Quiet")
        foreign = await factories.device(db, other, name="Foreign")
    roles = {owner: (org.id, Role.OWNER), driver: (org.id, Role.DRIVER),
             viewer: (org.id, Role.VIEWER), stranger: (other.id, Role.OWNER)}
    callers = [Caller(user=u, session=None, roles={o: r}) for u, (o, r) in roles.items()]
    nobody = Caller(user=User(id=uuid.uuid4()), session=None, roles={})
    return [*callers, nobody], (driven.id, plain.id, quiet.id, foreign.id)


async def _same_for_everyone(services, callers) -> None:  # type: ignore[no-untyped-def]
    for caller in callers:
        assert await _kept(services, caller) == await _computed(services, caller)


async def test_the_kept_answer_is_the_computed_one_after_every_kind_of_batch(services) -> None:
    callers, (driven, plain, _quiet, foreign) = await _world(services)
    store = Store(services.database)
    batches = [
        [_fix(driven, T, 1, 1.0, ignition=True), _fix(plain, T, 5, 2.0, note="Straße ✓")],
        # Late fixes from a blind area, after the newer ones; a repeat; an older one first in
        # the batch and the newest last; another zone for the same instant.
        [_fix(driven, T - timedelta(hours=1), 2, 3.0, blind_area=True),
         _fix(plain, T, 5, 2.0, note="Straße ✓"),
         _fix(foreign, T + timedelta(minutes=1), 9, 4.0),
         _fix(foreign, (T + timedelta(minutes=2)).astimezone(EAST), 8, 5.0,
              load=[1, [2, "drei"]], zeta=1, alpha={"b": 2, "a": 1})],
        # The same time with a greater key wins, a smaller one does not.
        [_fix(plain, T, 7, 6.0, satellites=9), _fix(plain, T, 6, 7.0),
         _fix(driven, T - timedelta(days=1), 3, 8.0)],
    ]
    for batch in batches:
        await store.write(batch)
        await _same_for_everyone(services, callers)
    owner = callers[0]
    body, _ = await _kept(services, owner)
    shown = {item["device_id"]: item for item in json.loads(body)}
    assert set(shown) == {str(driven), str(plain)}, "no fix, no row; others' devices absent"
    assert shown[str(plain)]["attributes"] == {"satellites": 9}
    assert shown[str(driven)]["attributes"] == {"ignition": True}
    assert (await _kept(services, callers[1]))[0].count(b"device_id") == 1, "the driver's own"
    assert (await _kept(services, callers[3]))[0].count(b"device_id") == 1, "another org's"
    assert (await _kept(services, callers[4]))[0] == b"[]"


async def test_a_deleted_fix_is_never_shown(services) -> None:
    callers, (driven, plain, quiet, foreign) = await _world(services)
    store = Store(services.database)
    now = datetime.now(UTC)
    await store.write([
        _fix(driven, now - timedelta(days=200), 1, 1.0),
        _fix(driven, now - timedelta(days=1), 2, 2.0),
        _fix(driven, now - timedelta(hours=1), 3, 3.0),
        _fix(plain, now - timedelta(days=100), 4, 4.0),
        _fix(foreign, now - timedelta(days=2), 5, 5.0),
    ])
    # Any deletion of positions, then `repair`: the device shows what is left.
    async with services.database.session() as db:
        await db.execute(delete(Position).where(Position.device_id == driven,
                                                Position.dedup == 3))
        assert await latest.repair(db) == 1
    await _same_for_everyone(services, callers)
    # The retention sweep (90 days): the plain van's only fix goes, and with it its row.
    async with services.database.session() as db:
        await retention.sweep(db, now=now)
    await _same_for_everyone(services, callers)
    async with services.database.session() as db:
        kept = set(await db.scalars(select(LatestPosition.device_id)))
    assert kept == {driven, foreign}
    # Deleting a device deletes its row.
    async with services.database.session() as db:
        await service.remove(db, caller=callers[0], device_id=driven)
    async with services.database.session() as db:
        assert set(await db.scalars(select(LatestPosition.device_id))) == {foreign}
    await _same_for_everyone(services, callers)
    # A rebuild from positions writes what the store wrote.
    async with services.database.session() as db:
        before = (await db.execute(select(LatestPosition.__table__))).all()
        await latest.rebuild(db)
        assert (await db.execute(select(LatestPosition.__table__))).all() == before
    assert quiet not in kept
