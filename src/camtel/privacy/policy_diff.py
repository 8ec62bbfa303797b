"""What changed between two versions of a policy: the Markdown sources compared line by line
(blank lines ignored), grouped into passages with a little unchanged text around each, and
the changed words of a rewritten line marked. Pure; the pages render it as a list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Kind = Literal["same", "removed", "added"]
Parts = tuple[tuple[str, bool], ...]
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a passage: unchanged, removed from the old text or added in the new; its
    parts are (text, changed) so that a rewritten line can show which words changed."""

    kind: Kind
    number: int  # in the old text for removed and unchanged lines, in the new for added
    parts: Parts

    @property
    def text(self) -> str:
        return "".join(part for part, _changed in self.parts)


@dataclass(frozen=True, slots=True)
class Passage:
    """Lines that changed together, with the heading they fall under (for orientation)."""

    section: str
    lines: tuple[Line, ...]

    @property
    def added(self) -> int:
        return sum(line.kind == "added" for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.kind == "removed" for line in self.lines)


def _numbered(text: str) -> list[tuple[int, str]]:
    return [(n, line.rstrip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _section(lines: list[tuple[int, str]], before: int) -> str:
    """The last heading at or above index `before`."""
    for _n, line in reversed(lines[: before + 1]):
        if line.lstrip().startswith("#"):
            return line.lstrip().lstrip("#").strip()
    return ""


def _word_parts(old: str, new: str) -> tuple[Parts, Parts]:
    """Each line cut into runs of words, marked where they differ."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            left.append(("".join(a[i1:i2]), op != "equal"))
        if j2 > j1:
            right.append(("".join(b[j1:j2]), op != "equal"))
    return _joined(left), _joined(right)


def _joined(parts: list[tuple[str, bool]]) -> Parts:
    """Runs merged: changed words separated only by unchanged spaces read as one change."""
    out: list[tuple[str, bool]] = []
    for index, (text, changed) in enumerate(parts):
        between = (
            not changed
            and not text.strip()
            and 0 < index < len(parts) - 1
            and parts[index - 1][1]
            and parts[index + 1][1]
        )
        changed = changed or between
        if out and out[-1][1] == changed:
            out[-1] = (out[-1][0] + text, changed)
        else:
            out.append((text, changed))
    return tuple(out)


def passages(old: str, new: str, *, context: int = 1) -> list[Passage]:
    """The passages where `new` differs from `old`, in order. Pure."""
    a, b = _numbered(old), _numbered(new)
    matcher = SequenceMatcher(None, [t for _n, t in a], [t for _n, t in b], autojunk=False)
    found = []
    for group in matcher.get_grouped_opcodes(context):
        lines: list[Line] = []
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                lines += [Line("same", n, ((t, False),)) for n, t in a[i1:i2]]
                continue
            removed, added = a[i1:i2], b[j1:j2]
            if op == "replace" and len(removed) == len(added):
                # A line rewritten in place: show which of its words changed.
                pairs = [_word_parts(x[1], y[1]) for x, y in zip(removed, added, strict=True)]
                lines += [Line("removed", x[0], p[0]) for x, p in zip(removed, pairs, strict=True)]
                lines += [Line("added", y[0], p[1]) for y, p in zip(added, pairs, strict=True)]
            else:
                lines += [Line("removed", n, ((t, True),)) for n, t in removed]
                lines += [Line("added", n, ((t, True),)) for n, t in added]
        first_new = next(j1 for _op, _i1, _i2, j1, _j2 in group)
        found.append(Passage(section=_section(b, first_new), lines=tuple(lines)))
    return found
