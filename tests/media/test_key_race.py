"""A first media key made while another connection commits (as positions do all the time):
SQLite refuses the stale transaction at once ("database is locked"), and `ensure_key` starts
it again instead of failing the upload or the device's photo. The key is made in a transaction
of its own, so the caller's session is never rolled back by the restart."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from camtel.accounts.models import User
from camtel.media import crypto, service
from camtel.media.models import MediaKey


@pytest.fixture
def engine() -> str:  # the race is SQLite's own
    return "sqlite"


def _race_once(services) -> list[int]:  # type: ignore[no-untyped-def]
    """Make the media keys' lookup meet another connection's commit on its first call (its
    transaction has read, so its snapshot has begun); the calls made are counted in the list."""
    real = services.media.keys.data_key
    calls: list[int] = []

    async def racing(db, owner_id, *, create=False):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            await db.execute(select(MediaKey.owner_id).limit(1))
            async with services.database.engine.begin() as other:
                await other.execute(text("CREATE TABLE IF NOT EXISTS race_marker (n INTEGER)"))
                await other.execute(text("INSERT INTO race_marker VALUES (1)"))
        return await real(db, owner_id, create=create)

    services.media.keys.data_key = racing
    return calls


async def test_a_first_key_survives_a_commit_between_its_read_and_its_insert(services):
    lib = services.media
    real = lib.keys.data_key
    calls = _race_once(services)
    owner = uuid.uuid4()
    async with services.database.session() as db:
        db.add(
            User(
                id=owner,
                email=f"{owner.hex}@example.com",
                phone="+4915100000000",
                password_hash="x",
            )
        )
        await db.commit()
        key = await service.ensure_key(db, lib, owner)
    assert calls, "the key was looked up"
    lib.keys.data_key = real  # type: ignore[method-assign]
    async with services.database.session() as db:
        assert await lib.keys.data_key(db, owner) == key, "the key that was returned is stored"
    with pytest.raises(crypto.KeyMissing):
        async with services.database.session() as db:
            await lib.keys.data_key(db, uuid.uuid4())


async def test_objects_the_caller_holds_stay_readable_after_a_restarted_key(services):
    """The restart must not roll back the caller's session: that would expire the objects it
    holds (the signed-in person), and reading one then needs I/O outside SQLAlchemy's greenlet
    (`MissingGreenlet`, a 500 on a tus upload's creation in CI)."""
    lib = services.media
    real = lib.keys.data_key
    _race_once(services)
    owner = uuid.uuid4()
    try:
        async with services.database.session() as db:
            person = User(
                id=owner, email=f"{owner.hex}@example.com", phone="+4915100000000",
                password_hash="x",
            )
            db.add(person)
            await db.commit()
            await service.ensure_key(db, lib, owner)
            assert person.id == owner and person.email.startswith(owner.hex)  # no I/O needed
    finally:
        lib.keys.data_key = real  # type: ignore[method-assign]


async def test_a_caller_holding_a_write_gets_its_key(services):
    """`camtel demo` writes rows, then asks for the owner's key in the same session: the key's
    own transaction must not wait on the caller's open write (SQLite has one writer)."""
    owner = uuid.uuid4()
    async with services.database.session() as db:
        db.add(
            User(
                id=owner, email=f"{owner.hex}@example.com", phone="+4915100000000",
                password_hash="x",
            )
        )
        await db.flush()  # the caller now holds SQLite's write lock
        key = await service.ensure_key(db, services.media, owner)
    async with services.database.session() as db:
        assert await services.media.keys.data_key(db, owner) == key
        assert await db.get(User, owner) is not None, "the caller's write was kept"
