"""Hostile and broken files: a clear warning or error, never an exception, never a changed file."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from pathlib import Path

import mp4_builder as build
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camtel.media import isobmff
from camtel.media.tracks import blackvue, extract, extract_source, gpmf, nmea, novatek, seventymai

FIX = build.Fix(datetime(2023, 5, 1, 10, 0, tzinfo=UTC), 52.52, 13.405, 50.0, 90.0)


def novatek_file() -> bytes:
    return build.novatek_mp4([build.classic_block(FIX)] * 3, indexed=True)


def only_warnings(path: Path, expected: str) -> None:
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    found = extract(path)
    assert found.points == [] and found.source_format is None
    assert any(expected in w for w in found.warnings), found.warnings
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_zero_length(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    only_warnings(path, "empty")


def test_jpeg_renamed(tmp_path: Path) -> None:
    path = tmp_path / "photo.mp4"
    path.write_bytes(b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\0" * 200)
    only_warnings(path, "JPEG")


def test_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(novatek_file()[:5000])
    only_warnings(path, "past the end")


def test_size_past_the_end(tmp_path: Path) -> None:
    data = bytearray(novatek_file())
    moov = data.rfind(b"moov") - 4
    data[moov : moov + 4] = struct.pack(">I", 10_000_000)
    path = tmp_path / "past.mp4"
    path.write_bytes(bytes(data))
    only_warnings(path, "claims 10000000 bytes")


def test_terabyte_largesize(tmp_path: Path) -> None:
    path = tmp_path / "huge.mp4"
    path.write_bytes(build.ftyp() + struct.pack(">I4sQ", 1, b"mdat", 4 << 40) + b"\0" * 64)
    only_warnings(path, "past the end")


@pytest.mark.parametrize("size", [0, 3, 7])
def test_box_that_would_loop(size: int, tmp_path: Path) -> None:
    """A size smaller than its header would walk in place; size 0 inside moov ends it."""
    inner = struct.pack(">I4s", size, b"trak") + b"\0" * 16
    path = tmp_path / "loop.mp4"
    path.write_bytes(build.ftyp() + build.box("moov", inner))
    found = extract(path)
    assert found.points == []
    assert found.warnings


def test_deep_nesting(tmp_path: Path) -> None:
    inner = b""
    for _ in range(40):
        inner = build.box("trak", inner)
    path = tmp_path / "deep.mp4"
    path.write_bytes(build.ftyp() + build.box("moov", inner))
    only_warnings(path, "nested deeper")


def test_sample_table_past_the_end(tmp_path: Path) -> None:
    movie = bytearray(build.movie_with_samples([b"\0" * 16], "gpmd", "meta", 1000))
    at = movie.find(b"stco") + 12
    movie[at : at + 4] = struct.pack(">I", 1 << 30)
    found = extract_source(bytes(movie))
    assert found.points == []
    assert any("past the end" in w for w in found.warnings)


def test_index_pointing_nowhere(tmp_path: Path) -> None:
    data = bytearray(novatek_file())
    at = data.find(b"gps ") + 12
    data[at : at + 8] = struct.pack(">II", 1 << 31, 0x8000)
    found = extract_source(bytes(data))
    assert len(found.points) == 2
    assert any("unknown layout" in w for w in found.warnings)


def test_unreadable_path(tmp_path: Path) -> None:
    found = extract(tmp_path / "nothing.mp4")
    assert found.points == [] and "cannot open" in found.warnings[0]


fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [
    novatek_file()[:1200],
    build.seventymai_mp4([FIX], FIX.time),
    build.blackvue_mp4([FIX])[0],
    build.movie_with_samples([b"\0" * 8], "gpmd", "meta", 10),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@fuzz
@given(st.one_of(st.binary(max_size=2048), mutated()))
def test_fuzz_extract_never_raises(data: bytes) -> None:
    found = extract_source(data)
    assert found.source_format is not None or found.warnings


@fuzz
@given(st.one_of(st.binary(max_size=2048), mutated()))
def test_fuzz_box_walker(data: bytes) -> None:
    try:
        for _depth, box in isobmff.iter_tree(isobmff.Source(data)):
            assert 0 <= box.offset < box.end <= len(data)
        isobmff.read_movie(isobmff.Source(data))
    except isobmff.BoxError:
        pass


@fuzz
@given(st.binary(max_size=4096))
def test_fuzz_parsers(data: bytes) -> None:
    gpmf.parse_payloads([(data, 0.0, 1.0)])
    gpmf.parse_raw(data)
    nmea.points(data)
    seventymai.parse(data, 1_700_000_000)
    blackvue.parse({"gps ": data, "3gf ": data, "sttm": data[:8]})
    block = struct.pack(">I", 0x8000) + b"freeGPS " + data
    novatek.decode_block(block, novatek.Decoded())
