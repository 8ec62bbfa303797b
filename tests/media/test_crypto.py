"""Segmented AES-256-GCM: round trips, cheap ranges, and every tampering caught."""

from __future__ import annotations

import os
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from camtel.media import crypto

KEY = bytes(range(32))
OID = uuid.UUID(int=7).bytes
SEG = 1024  # small segments keep the tests quick; the format stores the size


async def _chunks(data: bytes, size: int = 700):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _seal(data: bytes, oid: bytes = OID) -> bytes:
    return b"".join([c async for c in crypto.seal(KEY, oid, _chunks(data), segment=SEG)])


async def _open(stored: bytes, start: int, end: int, total: int, oid: bytes = OID) -> bytes:
    opener = crypto.Opener(KEY, oid, stored[: crypto.HEADER], total)
    first, _last, s0, s1 = crypto.segment_span(start, end, total, opener.segment)

    async def body():
        yield stored[s0:s1]

    return b"".join(
        [c async for c in opener.open_stream(first, body(), start - first * SEG, end - start)]
    )


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG + 5])
async def test_round_trip_and_sizes(size):
    data = os.urandom(size)
    stored = await _seal(data)
    assert len(stored) == crypto.encrypted_size(size, SEG)
    assert crypto.plain_size(len(stored), SEG) == size
    assert await _open(stored, 0, size, size) == data


async def test_ranges_read_only_their_segments():
    data = os.urandom(5 * SEG + 17)
    stored = await _seal(data)
    for start, end in [
        (0, 1),
        (SEG - 1, SEG + 1),
        (2 * SEG + 3, 4 * SEG),
        (len(data) - 1, len(data)),
    ]:
        assert await _open(stored, start, end, len(data)) == data[start:end]
    first, last, s0, s1 = crypto.segment_span(2 * SEG + 3, 2 * SEG + 10, len(data), SEG)
    assert (first, last) == (2, 2) and s1 - s0 == SEG + crypto.TAG


async def test_tampering_is_caught():
    data = os.urandom(3 * SEG)
    stored = bytearray(await _seal(data))
    stored[crypto.HEADER + 5] ^= 1
    with pytest.raises(crypto.Corrupt):
        await _open(bytes(stored), 0, 10, len(data))


async def test_segments_are_bound_to_their_object():
    data = os.urandom(2 * SEG)
    stored = await _seal(data)
    with pytest.raises(crypto.Corrupt):
        await _open(stored, 0, 10, len(data), oid=uuid.UUID(int=8).bytes)


async def test_truncation_at_a_segment_boundary_is_caught():
    data = os.urandom(3 * SEG + 10)
    stored = await _seal(data)
    cut = stored[: crypto.HEADER + 2 * (SEG + crypto.TAG)]
    # Pretend the object always had two segments: the second was not sealed as the last one.
    with pytest.raises(crypto.Corrupt):
        await _open(cut, 0, 2 * SEG, 2 * SEG)


def test_master_key_is_private_and_stable(tmp_path):
    path = tmp_path / "keys" / "master.key"
    first = crypto.load_master_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert crypto.load_master_key(path) == first and len(first) == 32


def test_processes_starting_together_share_one_whole_master_key(tmp_path):
    """Nodes of a split deployment starting at once on a shared folder: none reads a key
    half written, and all get the same one."""
    path = tmp_path / "shared" / "master.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: crypto.load_master_key(path), range(64)))
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]


def test_wrapped_keys_belong_to_their_owner():
    ring = crypto.KeyRing(os.urandom(32))
    owner, other = uuid.uuid4(), uuid.uuid4()
    wrapped = ring.wrap(owner, KEY)
    assert ring.unwrap(owner, wrapped) == KEY
    with pytest.raises(crypto.Corrupt):
        ring.unwrap(other, wrapped)
    with pytest.raises(crypto.Corrupt):
        crypto.KeyRing(os.urandom(32)).unwrap(owner, wrapped)
