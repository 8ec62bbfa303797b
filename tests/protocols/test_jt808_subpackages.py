"""JT/T 808 sub-packages joined by message id, total and index, whatever comes in between.

A dash cam uploading a photo (0x0801 in parts) keeps reporting: its 0x0200 reports and
heartbeats take serials from the same counter, so the parts' serials are not consecutive.
Frames are built by hand from the standard's layout (JT/T 808-2013 4.4.3: properties bit 13,
then the total and the index after the serial).
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from camtel.messages import Heartbeat, MediaChunk, Position, Rejected
from camtel.protocols import jt808
from camtel.protocols.base import Decoded

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PHONE = bytes.fromhex("013912345678")
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 7 + b"\x7e\x7d" * 40 + b"\xff\xd9"


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def frame(message_id: int, body: bytes, serial: int, package: tuple[int, int] | None = None):  # type: ignore[no-untyped-def]
    properties = len(body) | (1 << 13 if package else 0)
    data = struct.pack(">HH", message_id, properties) + PHONE + struct.pack(">H", serial)
    if package:
        data += struct.pack(">HH", *package)
    data += body
    return b"\x7e" + data + bytes([xor(data)]) + b"\x7e"


def location(seconds: int = 0) -> bytes:
    when = (datetime(2026, 3, 15, 12, 30) + timedelta(seconds=seconds)).strftime("%y%m%d%H%M%S")
    return struct.pack(">IIIIhHH", 0, 0x2, 22_543_210, 114_057_890, 50, 600, 90) + bytes.fromhex(
        when
    )


def media_body(media_id: int = 77, photo: bytes = PHOTO) -> bytes:
    return struct.pack(">IBBBB", media_id, 0, 0, 1, 1) + location() + photo


def parts(body: bytes, total: int) -> list[bytes]:
    size = -(-len(body) // total)
    return [body[i * size : (i + 1) * size] for i in range(total)]


def acked(decoded: Decoded) -> list[tuple[int, int, int]]:
    """(answered serial, answered id, result) of each 0x8001 among the replies."""
    out = []
    for reply in decoded.replies:
        header, body = jt808.parse_header(jt808.unescape(reply[1:-1])[:-1])
        if header.message_id == 0x8001:
            out.append(struct.unpack(">HHB", body))
    return out


def decode(data: bytes, session: jt808.Session, now: datetime = NOW) -> Decoded:
    return jt808.decode(data, session, now)


def test_photo_parts_interleaved_with_reports_and_a_heartbeat_are_joined():
    session = jt808.Session()
    pieces = parts(media_body(), 4)
    serial = 0xFFFD  # the counter wraps in the middle of the upload
    script: list[tuple[str, bytes, int]] = []
    for index, piece in enumerate(pieces, 1):
        script.append(("part", frame(0x0801, piece, serial, (4, index)), serial))
        serial = (serial + 1) & 0xFFFF
        if index < 4:
            kind, message_id, body = (
                ("heartbeat", 0x0002, b"") if index == 2 else ("report", 0x0200, location(index))
            )
            script.append((kind, frame(message_id, body, serial), serial))
            serial = (serial + 1) & 0xFFFF

    chunks, reports, beats = [], [], []
    for kind, data, sent_serial in script:
        decoded = decode(data, session)
        assert decoded.rejected is None, (kind, decoded.rejected)
        message_id = {"part": 0x0801, "report": 0x0200, "heartbeat": 0x0002}[kind]
        assert acked(decoded) == [(sent_serial, message_id, 0)], "each frame acknowledged"
        chunks += [m for m in decoded.messages if isinstance(m, MediaChunk)]
        reports += [m for m in decoded.messages if isinstance(m, Position)]
        beats += [m for m in decoded.messages if isinstance(m, Heartbeat)]
    (chunk,) = chunks
    assert chunk.data == PHOTO and chunk.media_id == 77
    assert len(reports) == 2 and len(beats) == 1
    assert session.reassembly_bytes == 0 and session.evicted_assemblies == 0


def test_parts_out_of_order_with_gaps_in_their_serials():
    session = jt808.Session()
    pieces = parts(media_body(), 3)
    frames = [frame(0x0801, p, 100 + 5 * i, (3, i + 1)) for i, p in enumerate(pieces)]
    results = [decode(frames[i], session) for i in (1, 2, 0)]
    assert [r.messages for r in results[:2]] == [[], []]
    (chunk,) = results[2].messages
    assert isinstance(chunk, MediaChunk) and chunk.data == PHOTO


def test_a_resent_part_is_acknowledged_and_joined_once():
    session = jt808.Session()
    first, second = parts(media_body(), 2)
    decode(frame(0x0801, first, 10, (2, 1)), session)
    again = decode(frame(0x0801, first, 10, (2, 1)), session)  # our ack was lost
    assert acked(again) == [(10, 0x0801, 0)] and again.messages == []
    (chunk,) = decode(frame(0x0801, second, 12, (2, 2)), session).messages
    assert isinstance(chunk, MediaChunk) and chunk.data == PHOTO


def test_a_new_upload_replaces_an_abandoned_one():
    """The terminal gave up on photo 77 after its first part and sends photo 78: the parts
    of 78 are never glued to what was left of 77."""
    session = jt808.Session()
    old = parts(media_body(77), 3)
    new = parts(media_body(78, PHOTO[::-1]), 3)
    decode(frame(0x0801, old[0], 10, (3, 1)), session)
    decode(frame(0x0801, old[1], 11, (3, 2)), session)
    for i, piece in enumerate(new):
        result = decode(frame(0x0801, piece, 20 + i, (3, i + 1)), session)
    (chunk,) = result.messages
    assert isinstance(chunk, MediaChunk)
    assert (chunk.media_id, chunk.data) == (78, PHOTO[::-1])
    assert session.evicted_assemblies == 1 and session.reassembly_bytes == 0


def test_a_part_whose_serial_runs_against_its_index_starts_a_new_message():
    """Part 1 sent after part 2 of an unfinished message belongs to a new message."""
    session = jt808.Session()
    old = parts(media_body(77), 2)
    new = parts(media_body(78, PHOTO[::-1]), 2)
    decode(frame(0x0801, old[1], 50, (2, 2)), session)  # part 1 of 77 never arrived
    decode(frame(0x0801, new[0], 60, (2, 1)), session)
    (chunk,) = decode(frame(0x0801, new[1], 61, (2, 2)), session).messages
    assert isinstance(chunk, MediaChunk) and chunk.media_id == 78 and chunk.data == PHOTO[::-1]


def test_incomplete_sets_time_out_after_a_silence():
    session = jt808.Session(reassembly_timeout_s=60)
    first, second = parts(media_body(), 2)
    decode(frame(0x0801, first, 1, (2, 1)), session)
    late = decode(frame(0x0801, second, 2, (2, 2)), session, NOW + timedelta(seconds=61))
    assert late.messages == [] and acked(late) == [(2, 0x0801, 0)]
    assert session.evicted_assemblies == 1


def test_a_slow_upload_that_keeps_coming_is_not_timed_out():
    session = jt808.Session(reassembly_timeout_s=60)
    pieces = parts(media_body(), 4)
    for i, piece in enumerate(pieces):
        result = decode(
            frame(0x0801, piece, i, (4, i + 1)), session, NOW + timedelta(seconds=50 * i)
        )
    (chunk,) = result.messages
    assert isinstance(chunk, MediaChunk) and chunk.data == PHOTO


def test_memory_is_bounded_in_parts_sets_and_bytes():
    session = jt808.Session(max_reassembly_parts=16)
    too_many = decode(frame(0x0801, b"x", 1, (17, 1)), session)
    assert too_many.rejected == Rejected("reassembly_overflow", "17 parts")
    assert acked(too_many) == [(1, 0x0801, 0)] and session.reassembly_bytes == 0

    session = jt808.Session(max_reassembly_sets=2)
    for n, message_id in enumerate((0x0801, 0x0704, 0x0900)):
        decode(frame(message_id, b"abc", n, (2, 1)), session, NOW + timedelta(seconds=n))
    assert session.evicted_assemblies == 1, "the oldest set made room"
    assert session.reassembly_bytes == 6

    session = jt808.Session(max_reassembly_bytes=1000)
    result = decode(frame(0x0801, bytes(600), 1, (3, 1)), session)
    assert result.rejected is None
    result = decode(frame(0x0801, bytes(600), 2, (3, 2)), session)
    assert result.rejected == Rejected("reassembly_overflow", "1200 bytes")
    assert session.reassembly_bytes == 0
