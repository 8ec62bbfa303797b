"""`extract(..., gsensor=False)`, what `camtel extract` uses, gives the full parse's track.

The fast path skips the accelerometer and the sample tables of video and audio tracks; these
tests hold it to the full parse's points, format and warnings on every recording in
tests/data, on one of each make built to its layout, and on damaged variants.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mp4_builder as build
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camtel.media import isobmff
from camtel.media.extract import WRITERS, Recording
from camtel.media.tracks import Extraction, extract, extract_source, gpmf
from helpers.env import DATA

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
FIXES = [
    build.Fix(T0 + timedelta(seconds=i), 52.52 + i * 1e-5, 13.40 + i * 2e-5, 50.0, 10.0 * i)
    for i in range(8)
]
RECORDINGS = sorted(p.name for p in (DATA / "fixtures").iterdir() if p.suffix != ".md")
KARMA = DATA / "fixtures" / "gopro_karma.mp4"
HERO11 = DATA / "fixtures" / "gopro_hero11_gpmf.raw"


def assert_same_track(path: Path) -> Extraction:
    """The fast path's result is the full parse's, without the G-sensor; so is the output."""
    full = extract(path)
    fast = extract(path, gsensor=False)
    assert fast == Extraction(full.points, [], full.source_format, full.warnings)
    for write in WRITERS.values() if full.points else ():  # `camtel extract` writes tracks
        assert write([Recording(path, fast)]) == write([Recording(path, full)])
    return full


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recording_in_the_test_data(name: str) -> None:
    full = assert_same_track(DATA / "fixtures" / name)
    assert full.points and full.gsensor  # both GoPro files carry a track and ACCL


def _hero11_mp4() -> bytes:
    data, samples, offset = HERO11.read_bytes(), [], 0
    for entry in gpmf.entries(data):
        length = 8 + ((entry.size * entry.repeat + 3) & ~3)
        samples.append(data[offset : offset + length])
        offset += length
    return build.movie_with_samples(samples, "gpmd", "meta", 1001)


def _patched(data: bytes, fmt: str, kind: str, at: int, value: int) -> bytes:
    """`data` with a uint32 at `at` in the `kind` box of the track of format `fmt` replaced."""
    source = isobmff.Source(data)
    track_format, target = None, None
    for _depth, box in isobmff.iter_tree(source):
        if box.type == "trak":
            track_format = None
        elif box.type == "stsd":
            track_format = isobmff.parse_stsd(source.read(box.start, box.payload_size))
        elif box.type == kind and track_format == fmt:
            target = box
            break
    assert target is not None, (fmt, kind)
    patched = bytearray(data)
    struct.pack_into(">I", patched, target.start + at, value)
    return bytes(patched)


BUILT: dict[str, Callable[[], bytes]] = {
    **{
        f"novatek-{layout.__name__}-{'indexed' if indexed else 'scanned'}": (
            lambda layout=layout, indexed=indexed: build.novatek_mp4(
                [layout(f) for f in FIXES], indexed
            )
        )
        for layout in (
            build.classic_block,
            build.type1_block,
            build.type3_block,
            build.type15_block,
        )
        for indexed in (True, False)
    },
    "70mai": lambda: build.seventymai_mp4(FIXES, T0),
    "blackvue": lambda: build.blackvue_mp4(FIXES)[0],
    "nmea-tx3g": lambda: build.movie_with_samples(
        [build.tx3g_sample(build.rmc(f)) for f in FIXES], "tx3g", "text", 1000
    ),
    "hero11-gpmd-track": _hero11_mp4,
    # Karma's video track pointing past the end: the warning must survive the skipped table.
    "karma-video-past-the-end": lambda: _patched(KARMA.read_bytes(), "avc1", "stco", 8, 1 << 31),
    # Its audio table claiming more samples than it holds: the whole file is refused, as before.
    "karma-audio-table-too-short": lambda: _patched(KARMA.read_bytes(), "mp4a", "stsz", 8, 10**6),
    # Its sample-to-chunk table naming a chunk that does not exist.
    "karma-video-bad-chunks": lambda: _patched(KARMA.read_bytes(), "avc1", "stsc", 8, 10**6),
    "karma-cut": lambda: KARMA.read_bytes()[:-3000],
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_make_and_damage(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(BUILT[name]())
    full = assert_same_track(path)
    if name.startswith("karma-video"):
        assert full.points and any("track avc1" in w for w in full.warnings), full.warnings
    if name == "karma-audio-table-too-short":
        assert not full.points and "damaged" in full.warnings[0]


def test_sidecar_and_raw_gpmf(tmp_path: Path) -> None:
    video = tmp_path / "clip.MP4"
    video.write_bytes(build.ftyp() + build.box("mdat", b"\0" * 64))
    (tmp_path / "clip.nmea").write_text("".join(build.rmc(f) for f in FIXES))
    assert assert_same_track(video).source_format == "sidecar-nmea"
    raw = HERO11.read_bytes()
    full, fast = extract_source(raw), extract_source(raw, gsensor=False)
    assert fast == Extraction(full.points, [], full.source_format, full.warnings)


def test_only_telemetry_tables_are_resolved() -> None:
    """Karma's gpmd samples are listed; its video, audio and other tables are only checked."""
    with isobmff.Source(KARMA) as source:
        every = isobmff.read_movie(source)
        picked = isobmff.read_movie(source, resolve=gpmf.is_track)
    assert picked.warnings == every.warnings
    for mine, theirs in zip(picked.tracks, every.tracks, strict=True):
        assert (mine.format, mine.handler, mine.duration_s) == (
            theirs.format,
            theirs.handler,
            theirs.duration_s,
        )
        assert mine.samples == (theirs.samples if mine.format == "gpmd" else [])
    assert sum(len(t.samples) for t in every.tracks) > 10 * len(gpmf.find_track(picked).samples)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[int], list[int], list[tuple[int, int]], int]:
    chunks = draw(st.lists(st.integers(0, 400), max_size=12))
    sizes = draw(st.lists(st.integers(0, 60), max_size=30))
    runs = draw(st.lists(st.tuples(st.integers(0, 14), st.integers(0, 5)), max_size=5))
    return chunks, sizes, runs, draw(st.integers(0, 500))


@settings(max_examples=500, deadline=None)
@given(tables())
def test_placed_in_file_says_whether_the_table_has_a_warning(table) -> None:  # type: ignore[no-untyped-def]
    chunks, sizes, runs, file_size = table
    _samples, warnings = isobmff.sample_table(chunks, sizes, runs, [(len(sizes), 1)], 1, file_size)
    assert isobmff.placed_in_file(chunks, sizes, runs, file_size) == (warnings == [])


def _gpmf_payloads() -> list[bytes]:
    with isobmff.Source(KARMA) as source:
        track = gpmf.find_track(isobmff.read_movie(source))
        assert track is not None
        return [source.read(s.offset, s.size) for s in track.samples[:3]]


@st.composite
def damaged_gpmf(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_gpmf_payloads())))
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_gpmf())
def test_damaged_gpmf_gives_the_same_gps_without_accl(data: bytes) -> None:
    try:
        full = gpmf.parse_payloads([(data, 0.0, 1.0)])
    except Exception:  # extract turns it into a warning: nothing to compare
        return
    fast = gpmf.parse_payloads([(data, 0.0, 1.0)], gsensor=False)
    assert fast.gsensor == []
    assert (fast.streams, fast.warnings, fast.no_lock) == (
        full.streams,
        full.warnings,
        full.no_lock,
    )
