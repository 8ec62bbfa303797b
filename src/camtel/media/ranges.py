"""HTTP Range and conditional-request decisions for downloads (RFC 9110), pure and tested alone."""

from __future__ import annotations

from dataclasses import dataclass

MAX_RANGES = 16


class Unsatisfiable(ValueError):
    """No requested range overlaps the representation: answer 416."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes [start, end) of the representation."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> list[ByteRange] | None:
    """The ranges asked for, clipped to `size`; None to send the whole body (no header, or a
    header this server ignores, as RFC 9110 allows); Unsatisfiable when none can be served."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges: list[ByteRange] = []
    pieces = [p.strip() for p in spec.split(",")]
    if len(pieces) > MAX_RANGES:
        return None  # many tiny ranges are an amplification trick, not a player
    for piece in pieces:
        first, dash, last = piece.partition("-")
        if not dash:
            return None
        first, last = first.strip(), last.strip()
        if first == "":
            if not last.isdigit():
                return None
            suffix = int(last)
            if suffix == 0:
                continue
            ranges.append(ByteRange(max(0, size - suffix), size))
            continue
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        start = int(first)
        end = size if not last else min(size, int(last) + 1)
        if last and int(last) < start:
            return None  # syntactically invalid: ignore the header
        if start >= size:
            continue
        ranges.append(ByteRange(start, end))
    if not ranges:
        raise Unsatisfiable(f"bytes */{size}")
    return ranges


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match list names this entity tag (weak comparison, as for GET)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    plain = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == plain for tag in header.split(","))


def if_range_holds(header: str | None, etag: str) -> bool:
    """If-Range: the Range applies only when the strong validator still matches (a date
    form is not honoured: camtel's validator is the content hash)."""
    if header is None:
        return True
    header = header.strip()
    return not header.startswith("W/") and header == etag
