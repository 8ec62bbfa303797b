"""A small, defensive ISO BMFF (MP4/MOV) box walker and sample-table reader.

Only what is needed to find embedded telemetry: box headers, the track boxes that say where a
track's samples live and when they play. Every size is checked against its parent and the file,
so a hostile or truncated file yields `BoxError`, never a huge read or an endless loop.
"""

from __future__ import annotations

import io
import itertools
import operator
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAX_DEPTH = 12
MAX_BOXES = 200_000
MAX_MOOV_BYTES = 256 * 1024 * 1024
MAX_SAMPLES = 5_000_000
CONTAINERS = frozenset(
    {"moov", "trak", "mdia", "minf", "stbl", "dinf", "edts", "udta", "moof", "traf", "mvex"}
)
_MAC_EPOCH_OFFSET = 2_082_844_800  # seconds from 1904-01-01 to 1970-01-01


class BoxError(ValueError):
    """The file is not a well-formed ISO BMFF file where it matters."""


class Source:
    """Random access to bytes, from a path (opened read-only), a binary file or a buffer."""

    def __init__(self, data: bytes | bytearray | memoryview | BinaryIO | Path | str) -> None:
        self._owned: BinaryIO | None = None
        if isinstance(data, (str, Path)):
            self._owned = open(data, "rb")  # noqa: SIM115 - closed by close()
            self._file: BinaryIO | None = self._owned
            self._buffer: bytes | None = None
            self.size = os.fstat(self._owned.fileno()).st_size
        elif isinstance(data, (bytes, bytearray, memoryview)):
            self._file = None
            self._buffer = bytes(data)
            self.size = len(self._buffer)
        else:
            self._file = data
            self._buffer = None
            self.size = data.seek(0, io.SEEK_END)

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes at `offset`, or BoxError when the file is shorter."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise BoxError(f"read of {length} bytes at {offset} is past the end ({self.size})")
        if self._buffer is not None:
            return self._buffer[offset : offset + length]
        assert self._file is not None
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:
            raise BoxError(f"file shrank while reading at {offset}")
        return data

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Box:
    """One box: its four-character type, where it starts, its total size and header size."""

    type: str
    offset: int
    size: int
    header: int

    @property
    def start(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload_size(self) -> int:
        return self.size - self.header


def _fourcc(raw: bytes) -> str:
    return raw.decode("latin-1")


def iter_boxes(source: Source | bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes laid one after another in [start, end), each checked to fit inside."""
    if isinstance(source, (bytes, bytearray)):
        source = Source(source)
    end = source.size if end is None else end
    if end > source.size:
        raise BoxError(f"region ends at {end}, past the end of the data ({source.size})")
    offset, count = start, 0
    while offset < end:
        if end - offset < 8:
            raise BoxError(f"{end - offset} stray bytes at {offset}, too short for a box header")
        size, kind = struct.unpack(">I4s", source.read(offset, 8))
        header = 8
        if size == 1:
            if end - offset < 16:
                raise BoxError(f"box {_fourcc(kind)!r} at {offset}: truncated 64-bit size")
            (size,) = struct.unpack(">Q", source.read(offset + 8, 8))
            header = 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise BoxError(
                f"box {_fourcc(kind)!r} at {offset}: size {size} is smaller than its header"
            )
        if offset + size > end:
            raise BoxError(
                f"box {_fourcc(kind)!r} at {offset} claims {size} bytes, "
                f"past the end of its container at {end}"
            )
        count += 1
        if count > MAX_BOXES:
            raise BoxError(f"more than {MAX_BOXES} boxes in one container")
        yield Box(_fourcc(kind), offset, size, header)
        offset += size


def iter_tree(
    source: Source, start: int = 0, end: int | None = None, depth: int = 0
) -> Iterator[tuple[int, Box]]:
    """Every box with its depth, descending into the usual containers, up to MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise BoxError(f"boxes nested deeper than {MAX_DEPTH}")
    for box in iter_boxes(source, start, end):
        yield depth, box
        if box.type in CONTAINERS:
            yield from iter_tree(source, box.start, box.end, depth + 1)
        elif box.type == "meta" and box.payload_size >= 4:
            # `meta` is a full box in ISO files but a plain container in QuickTime ones.
            inner = box.start + 4 if source.read(box.start, 4) == b"\0\0\0\0" else box.start
            yield from iter_tree(source, inner, box.end, depth + 1)


def children(source: Source, box: Box) -> list[Box]:
    """The boxes directly inside `box`."""
    return list(iter_boxes(source, box.start, box.end))


def first(boxes: list[Box], kind: str) -> Box | None:
    return next((b for b in boxes if b.type == kind), None)


@dataclass(frozen=True, slots=True)
class Sample:
    """Where one sample's bytes are and when it plays (seconds from the start of the track)."""

    offset: int
    size: int
    time_s: float
    duration_s: float


@dataclass(slots=True)
class Track:
    """The facts of one `trak` that telemetry extraction needs.

    `samples` is empty for a track `read_movie` was told not to resolve.
    """

    handler: str = ""
    handler_name: str = ""
    format: str = ""
    timescale: int = 0
    duration_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)


@dataclass(slots=True)
class Movie:
    """Top-level boxes, the parsed tracks and a few movie facts."""

    top: list[Box]
    tracks: list[Track]
    moov_children: list[Box]
    creation_unix: int | None
    warnings: list[str]


def _full(payload: bytes, need: int, what: str) -> None:
    if len(payload) < need:
        raise BoxError(f"{what} box is truncated ({len(payload)} < {need} bytes)")


def parse_mdhd(payload: bytes) -> tuple[int, float]:
    """(timescale, duration in seconds) from an `mdhd` or `mvhd` payload."""
    _full(payload, 4, "mdhd")
    if payload[0] == 1:
        _full(payload, 32, "mdhd")
        timescale, duration = struct.unpack_from(">IQ", payload, 20)
    else:
        _full(payload, 20, "mdhd")
        timescale, duration = struct.unpack_from(">II", payload, 12)
    return timescale, (duration / timescale if timescale else 0.0)


def parse_creation(payload: bytes) -> int | None:
    """The creation time of an `mvhd` as Unix seconds, or None when unset."""
    _full(payload, 12, "mvhd")
    if payload[0] == 1:
        _full(payload, 20, "mvhd")
        (created,) = struct.unpack_from(">Q", payload, 4)
    else:
        (created,) = struct.unpack_from(">I", payload, 4)
    return created - _MAC_EPOCH_OFFSET if created > _MAC_EPOCH_OFFSET else None


def parse_hdlr(payload: bytes) -> tuple[str, str]:
    """(handler type, handler name) from an `hdlr` payload."""
    _full(payload, 12, "hdlr")
    kind = _fourcc(payload[8:12])
    name = payload[24:].split(b"\0", 1)[0]
    if name[:1] and name[0] == len(name) - 1:  # QuickTime writes a Pascal string
        name = name[1:]
    return kind, name.decode("utf-8", errors="replace")


def parse_stsd(payload: bytes) -> str:
    """The format of the first sample description (e.g. 'gpmd', 'tx3g', 'avc1')."""
    _full(payload, 16, "stsd")
    return _fourcc(payload[12:16])


def _table(payload: bytes, entry: str, what: str) -> list[tuple[int, ...]]:
    _full(payload, 8, what)
    (count,) = struct.unpack_from(">I", payload, 4)
    width = struct.calcsize(entry)
    if count > MAX_SAMPLES or 8 + count * width > len(payload):
        raise BoxError(f"{what} claims {count} entries, more than its {len(payload)} bytes hold")
    return list(struct.iter_unpack(entry, payload[8 : 8 + count * width]))


def parse_stco(payload: bytes, wide: bool = False) -> list[int]:
    return [e[0] for e in _table(payload, ">Q" if wide else ">I", "co64" if wide else "stco")]


def parse_stsz(payload: bytes) -> list[int]:
    _full(payload, 12, "stsz")
    uniform, count = struct.unpack_from(">II", payload, 4)
    if count > MAX_SAMPLES:
        raise BoxError(f"stsz claims {count} samples")
    if uniform:
        return [uniform] * count
    return [e[0] for e in _table(payload[4:], ">I", "stsz")]


def parse_stsc(payload: bytes) -> list[tuple[int, int]]:
    """(first chunk, samples per chunk) runs."""
    return [(e[0], e[1]) for e in _table(payload, ">III", "stsc")]


def parse_stts(payload: bytes) -> list[tuple[int, int]]:
    """(sample count, sample delta) runs."""
    return [(e[0], e[1]) for e in _table(payload, ">II", "stts")]


def sample_table(
    chunks: list[int],
    sizes: list[int],
    runs: list[tuple[int, int]],
    times: list[tuple[int, int]],
    timescale: int,
    file_size: int,
) -> tuple[list[Sample], list[str]]:
    """Resolve chunk offsets, sizes, sample-to-chunk and time-to-sample into samples."""
    warnings: list[str] = []
    starts: list[float] = []
    durations: list[float] = []
    clock = 0
    scale = timescale or 1
    for count, delta in times:
        for _ in range(count):
            if len(starts) >= len(sizes):
                break
            starts.append(clock / scale)
            durations.append(delta / scale)
            clock += delta
    samples: list[Sample] = []
    index = 0
    for run, (first_chunk, per_chunk) in enumerate(runs):
        last_chunk = runs[run + 1][0] - 1 if run + 1 < len(runs) else len(chunks)
        if first_chunk < 1 or last_chunk > len(chunks) or per_chunk > MAX_SAMPLES:
            warnings.append("sample-to-chunk table does not match the chunk offsets")
            break
        for chunk in range(first_chunk - 1, last_chunk):
            offset = chunks[chunk]
            for _ in range(per_chunk):
                if index >= len(sizes):
                    break
                size = sizes[index]
                start = starts[index] if index < len(starts) else 0.0
                duration = durations[index] if index < len(durations) else 0.0
                if offset + size > file_size:
                    warnings.append(f"sample {index + 1} points past the end of the file")
                    return samples, warnings
                samples.append(Sample(offset, size, start, duration))
                offset += size
                index += 1
    if index < len(sizes):
        warnings.append(f"{len(sizes) - index} samples are not placed in any chunk")
    return samples, warnings


def placed_in_file(
    chunks: list[int], sizes: list[int], runs: list[tuple[int, int]], file_size: int
) -> bool:
    """Whether `sample_table` would place every sample inside the file, with no warning.

    The same rules, checked a chunk at a time without building the table: samples follow one
    another in a chunk, so none is past the end when the chunk's last byte is not. A False
    only means "build the table to find out".
    """
    ends = [0, *itertools.accumulate(sizes)]  # ends[i]: bytes of the first i samples
    count, index = len(sizes), 0
    for run, (first_chunk, per_chunk) in enumerate(runs):
        last_chunk = runs[run + 1][0] - 1 if run + 1 < len(runs) else len(chunks)
        if first_chunk < 1 or last_chunk > len(chunks) or per_chunk > MAX_SAMPLES:
            return False
        if per_chunk == 0 or index >= count or last_chunk < first_chunk:
            continue
        limit = min(count, index + per_chunk * (last_chunk - first_chunk + 1))
        # Chunk k of the run holds samples ends[index + k * per_chunk] up to the next one's.
        before = ends[index:limit:per_chunk]
        after = [*ends[index + per_chunk : limit : per_chunk], ends[limit]]
        offsets = chunks[first_chunk - 1 : first_chunk - 1 + len(before)]
        if max(map(operator.sub, map(operator.add, offsets, after), before)) > file_size:
            return False
        index = limit
    return index >= len(sizes)


def _parse_trak(
    moov: Source,
    trak: Box,
    file_size: int,
    warnings: list[str],
    resolve: Callable[[Track], bool] | None,
) -> Track:
    track = Track()
    stbl: dict[str, bytes] = {}
    for _depth, box in iter_tree(moov, trak.start, trak.end):
        if box.type in {"mdhd", "hdlr", "stsd", "stco", "co64", "stsz", "stsc", "stts"}:
            payload = moov.read(box.start, box.payload_size)
            if box.type == "mdhd":
                track.timescale, track.duration_s = parse_mdhd(payload)
            elif box.type == "hdlr" and not track.handler:
                track.handler, track.handler_name = parse_hdlr(payload)
            else:
                stbl.setdefault(box.type, payload)
    if "stsd" in stbl:
        track.format = parse_stsd(stbl["stsd"])
    if {"stsz", "stsc", "stts"} <= stbl.keys() and ("stco" in stbl or "co64" in stbl):
        # Every table is read, resolved or not, so a damaged one fails the same way.
        chunks = parse_stco(stbl["co64"], wide=True) if "co64" in stbl else parse_stco(stbl["stco"])
        sizes = parse_stsz(stbl["stsz"])
        runs = parse_stsc(stbl["stsc"])
        times = parse_stts(stbl["stts"])
        wanted = resolve is None or resolve(track)
        if wanted or not placed_in_file(chunks, sizes, runs, file_size):
            samples, problems = sample_table(chunks, sizes, runs, times, track.timescale, file_size)
            track.samples = samples if wanted else []
            warnings.extend(f"track {track.format or '?'}: {p}" for p in problems)
    return track


def read_movie(source: Source, resolve: Callable[[Track], bool] | None = None) -> Movie:
    """Walk the top level, read `moov` into memory and parse its tracks.

    `resolve` picks the tracks whose samples are listed (by default, all). The others are
    checked as thoroughly, so the warnings and errors are the same whatever it picks.
    """
    top = list(iter_boxes(source))
    warnings: list[str] = []
    moov_box = first(top, "moov")
    tracks: list[Track] = []
    moov_children: list[Box] = []
    creation = None
    if moov_box is not None:
        if moov_box.payload_size > MAX_MOOV_BYTES:
            raise BoxError(f"moov box of {moov_box.payload_size} bytes is implausibly large")
        moov = Source(source.read(moov_box.start, moov_box.payload_size))
        moov_children = list(iter_boxes(moov))
        for box in moov_children:
            if box.type == "mvhd":
                creation = parse_creation(moov.read(box.start, box.payload_size))
            elif box.type == "trak":
                tracks.append(_parse_trak(moov, box, source.size, warnings, resolve))
        # Offsets of moov children are relative to the moov payload; rebase them.
        moov_children = [
            Box(b.type, b.offset + moov_box.start, b.size, b.header) for b in moov_children
        ]
    return Movie(top, tracks, moov_children, creation, warnings)
