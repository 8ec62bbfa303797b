"""File types from their first bytes: one answer for analysis and track extraction."""

from __future__ import annotations

import pytest

from camtel.media.sniff import HEAD_BYTES, describe, is_isobmff, is_mpeg_ts, sniff


def ts_packets(count: int, *, size: int = 188) -> bytes:
    """`count` MPEG-TS packets: the sync byte, then a null packet's PID and stuffing."""
    return (b"\x47\x1f\xff\x10" + b"\xff" * (size - 4)) * count


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "mp4"),
        (b"\x00\x00\x00\x14pnot", "mp4"),  # QuickTime preview atom, first in old MOVs
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "riff"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "mkv"),
        (ts_packets(3)[:HEAD_BYTES], "ts"),
        (b"garbage", "unknown"),
        (b"", "unknown"),
    ],
)
def test_sniff(head, kind):  # type: ignore[no-untyped-def]
    assert sniff(head) == kind


def test_mpeg_ts_needs_the_sync_byte_at_every_packet():
    assert is_mpeg_ts(ts_packets(2))
    assert is_mpeg_ts(ts_packets(2) + b"\x47"), "the head may end inside a packet"
    assert not is_mpeg_ts(ts_packets(1)), "one packet, or one 'G', is not a stream"
    assert not is_mpeg_ts(b"G" * 100), "a text starting with G"
    third_off = bytearray(ts_packets(3))
    third_off[2 * 188] = 0x00
    assert not is_mpeg_ts(bytes(third_off)), "every packet the head reaches is checked"
    assert not is_mpeg_ts(b"\x00" + ts_packets(3)), "not aligned on 188 bytes"


def test_isobmff_needs_a_whole_box_header():
    assert is_isobmff(b"\x00\x00\x00\x18ftyp")
    assert not is_isobmff(b"\x00\x00\x00\x18fty")
    assert not is_isobmff(b"\x00\x00\x00\x18moof")


def test_describe_for_a_sentence():
    assert describe(b"\xff\xd8\xff\xe0") == "a JPEG image"
    assert describe(ts_packets(3)) == "an MPEG transport stream"
    assert describe(b"RIFF\x00\x00\x00\x00WAVE") == "a RIFF (AVI/WAV) file"
    assert describe(b"nothing known") == "not an MP4/MOV file"
