"""Encryption at rest: per-owner data keys wrapped by a master key, AES-256-GCM in segments.

An encrypted object is a 16-byte header followed by segments of `SEGMENT` plaintext bytes
(the last one shorter, possibly empty), each sealed on its own with AES-256-GCM:

    header  = b"CTM1" | segment size (u32, big endian) | nonce prefix (8 random bytes)
    segment = ciphertext | 16-byte tag
    nonce   = nonce prefix | segment index (u32) -- 12 bytes, never reused under one key
    AAD     = b"camtel-media" | object id | segment index (u32) | last-segment flag (1 byte)

Binding the object id stops a segment being swapped into another object; binding the index
stops reordering; the last-segment flag stops truncation at a segment boundary. Because every
segment stands alone, a Range read decrypts only the segments it touches.

Data keys are 32 random bytes per owner, stored wrapped (AES-GCM under the master key, with the
owner id as AAD). Destroying an owner's wrapped key makes all their objects unreadable:
crypto-shredding, which also reaches copies in backups and replicas of the object store.
"""

from __future__ import annotations

import secrets
import struct
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from camtel import keyfiles
from camtel.db.base import utcnow
from camtel.media.models import MediaKey

MAGIC = b"CTM1"
HEADER = 16
TAG = 16
SEGMENT = 64 * 1024
_KEY_AAD = b"camtel-key:"


class KeyMissing(LookupError):
    """The owner's data key was destroyed (or never made): their objects cannot be read."""


class Corrupt(ValueError):
    """An encrypted object failed authentication: altered, truncated, or not ours."""


def load_master_key(path: Path) -> bytes:
    """The master key at `path`, created (0600, directory 0700) on first start; processes
    starting together all get the one key written (`keyfiles.load_or_create`)."""
    key = keyfiles.load_or_create(path)
    if len(key) != 32:
        raise ValueError(f"the master key at {path} is not 32 bytes")
    return key


class KeyRing:
    """Per-owner data keys, wrapped by the master key and kept in the `media_keys` table."""

    def __init__(self, master_key: bytes) -> None:
        self._master = AESGCM(master_key)

    def wrap(self, owner_id: uuid.UUID, data_key: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._master.encrypt(nonce, data_key, _KEY_AAD + owner_id.bytes)

    def unwrap(self, owner_id: uuid.UUID, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:12], wrapped[12:], _KEY_AAD + owner_id.bytes)
        except InvalidTag:
            raise Corrupt("the data key does not open with this master key") from None

    async def data_key(
        self, db: AsyncSession, owner_id: uuid.UUID, *, create: bool = False
    ) -> bytes:
        """The owner's data key; made on first use when `create`, else KeyMissing."""
        row = await db.get(MediaKey, owner_id)
        if row is None:
            if not create:
                raise KeyMissing("the owner's media key no longer exists")
            key = AESGCM.generate_key(bit_length=256)
            row = MediaKey(
                owner_id=owner_id, wrapped_key=self.wrap(owner_id, key), created_at=utcnow()
            )
            db.add(row)
            await db.flush()
            return key
        return self.unwrap(owner_id, row.wrapped_key)


async def destroy_owner_key(db: AsyncSession, owner_id: uuid.UUID) -> None:
    """Crypto-shredding: forget the owner's data key, so every object of theirs is unreadable."""
    await db.execute(delete(MediaKey).where(MediaKey.owner_id == owner_id))


def _aad(object_id: bytes, index: int, last: bool) -> bytes:
    return b"camtel-media" + object_id + struct.pack(">IB", index, last)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def encrypted_size(plain_size: int, segment: int = SEGMENT) -> int:
    """Bytes stored for `plain_size` bytes of plaintext."""
    segments = max(1, -(-plain_size // segment))
    return HEADER + plain_size + segments * TAG


def plain_size(stored_size: int, segment: int = SEGMENT) -> int:
    """Plaintext bytes inside a stored object of `stored_size` bytes."""
    body = stored_size - HEADER
    if body < TAG:
        raise Corrupt("the object is shorter than one segment")
    segments = -(-body // (segment + TAG))
    return body - segments * TAG


async def seal(
    key: bytes, object_id: bytes, chunks: AsyncIterable[bytes], segment: int = SEGMENT
) -> AsyncIterator[bytes]:
    """Encrypt a stream of plaintext chunks into the segmented format, chunk by chunk."""
    aes = AESGCM(key)
    prefix = secrets.token_bytes(8)
    yield MAGIC + struct.pack(">I", segment) + prefix
    pending = b""
    index = 0
    async for chunk in chunks:
        data = pending + chunk if pending else chunk
        view = memoryview(data)
        pos = 0
        # Keep at least one byte back: the final segment must be sealed with the last flag,
        # and only the end of the stream tells which segment that is.
        while len(data) - pos > segment:
            yield aes.encrypt(
                _nonce(prefix, index), view[pos : pos + segment], _aad(object_id, index, False)
            )
            pos += segment
            index += 1
        pending = bytes(view[pos:])
    yield aes.encrypt(_nonce(prefix, index), pending, _aad(object_id, index, True))


def parse_header(header: bytes) -> tuple[int, bytes]:
    """(segment size, nonce prefix) from an object's header."""
    if len(header) != HEADER or header[:4] != MAGIC:
        raise Corrupt("not a camtel encrypted object")
    (segment,) = struct.unpack(">I", header[4:8])
    if not 16 <= segment <= 16 * 1024 * 1024:
        raise Corrupt("implausible segment size")
    return segment, header[8:16]


def segment_span(start: int, end: int, total: int, segment: int) -> tuple[int, int, int, int]:
    """For plaintext bytes [start, end) of `total`: (first index, last index, stored start,
    stored end) of the segments to read. Pure, so the arithmetic is tested on its own."""
    first = start // segment
    last = max(first, (max(end, 1) - 1) // segment)
    stored_start = HEADER + first * (segment + TAG)
    stored_end = min(HEADER + (last + 1) * (segment + TAG), encrypted_size(total, segment))
    return first, last, stored_start, stored_end


class Opener:
    """Decrypts segments of one object given its header and plaintext size."""

    def __init__(self, key: bytes, object_id: bytes, header: bytes, total: int) -> None:
        self.segment, self.prefix = parse_header(header)
        self.aes = AESGCM(key)
        self.object_id = object_id
        self.total = total
        self.final_index = max(0, -(-total // self.segment) - 1)

    def open(self, index: int, sealed: bytes) -> bytes:
        try:
            return self.aes.decrypt(
                _nonce(self.prefix, index),
                sealed,
                _aad(self.object_id, index, index == self.final_index),
            )
        except InvalidTag:
            raise Corrupt(f"segment {index} failed authentication") from None

    async def open_stream(
        self, first: int, stored: AsyncIterable[bytes], skip: int, length: int
    ) -> AsyncIterator[bytes]:
        """Plaintext from stored segments starting at index `first`: drop `skip` bytes, then
        give `length` bytes."""
        size = self.segment + TAG
        buffer = bytearray()
        index = first
        async for chunk in stored:
            buffer += chunk
            while len(buffer) >= size and length > 0:
                plain = self.open(index, bytes(buffer[:size]))
                del buffer[:size]
                index += 1
                plain, skip = plain[skip:], max(0, skip - len(plain))
                if plain:
                    out = plain[:length]
                    length -= len(out)
                    yield out
        if buffer and length > 0:
            plain = self.open(index, bytes(buffer))[skip:]
            out = plain[:length]
            length -= len(out)
            if out:
                yield out
        if length > 0:
            raise Corrupt("the object ended early")
