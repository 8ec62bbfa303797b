"""The `camtel` command's entry point: `camtel extract` starts without Typer, Rich or pydantic.

Loading the full command line costs more than extracting a batch of recordings, so an
`extract` invocation that this module reads exactly as Click would goes straight to
`camtel.media.extract.run_extract`, the same function the Typer command calls. Everything
else (other commands, `--help`, usage errors, anything unusual) goes to `camtel.cli`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Value options of `camtel extract` (see camtel.cli.extract), by the name of the value.
_OPTIONS = {"--format": "fmt", "-o": "out", "--output": "out"}

# What run_extract's markup can become in plain text: its own tags dropped, and only text
# that Rich writes unchanged to a non-terminal (no brackets, backslashes, emoji codes,
# control or non-ASCII characters, trailing spaces).
_TAGS = re.compile(r"\[(?:red|yellow|dim|/red|/)\]")
_PLAIN = re.compile(r"[\x20-\x5a\x5e-\x7e]*[\x21-\x5a\x5e-\x7e]")
_EMOJI = re.compile(r":\S*:")


def parse_extract(args: list[str]) -> tuple[list[Path], str, Path | None] | None:
    """`FILE... [--format F] [-o OUT]` as Click reads it, or None when Click should decide."""
    files: list[str] = []
    values = {"fmt": "gpx", "out": ""}
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            files.extend(rest)
            break
        if not arg.startswith("-"):
            files.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in _OPTIONS:  # --help, a typo, -oFILE: Click's own message or help
            return None
        if not equals:
            value = next(rest, "")
        if not value or value.startswith("-"):  # a missing or odd value: Click's message
            return None
        values[_OPTIONS[name]] = value
    out = values["out"]
    named = [*files, out] if out else files
    if not files or not all(path and _readable(path) for path in named):
        return None  # no file, an empty or an unreadable path: Click's own answer
    return [Path(f) for f in files], values["fmt"], Path(out) if out else None


def _readable(path: str) -> bool:
    """Not refused by click.Path(readable=True): absent, or there and readable."""
    return not os.path.exists(path) or os.access(path, os.R_OK)


def plain_width() -> int | None:
    """The width Rich would wrap stderr at, when it would write it without colours; else None."""
    if sys.platform == "win32" or {"FORCE_COLOR", "TTY_COMPATIBLE"} & os.environ.keys():
        return None
    if sys.stderr is None or sys.stderr.isatty():
        return None
    columns = os.environ.get("COLUMNS")
    if columns is not None:  # a positive number is the width; let Rich judge anything else
        return int(columns) if columns.isascii() and columns.isdigit() and int(columns) else None
    for descriptor in (0, 1, 2):  # as Rich: the first standard stream that is a terminal
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (OSError, ValueError):
            continue
    return 80


class PlainConsole:
    """Rich's `Console(stderr=True)` for run_extract's reports to a non-terminal, without Rich.

    A line Rich would write unchanged (tags aside) is written here; any other goes to Rich.
    """

    is_terminal = False

    def __init__(self, width: int) -> None:
        self.width = width
        self._rich: Console | None = None

    def print(self, text: str, *, highlight: bool | None = None) -> None:
        plain = _TAGS.sub("", text)
        if len(plain) <= self.width and _PLAIN.fullmatch(plain) and not _EMOJI.search(plain):
            sys.stderr.write(plain + "\n")
            sys.stderr.flush()
            return
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=True)
        self._rich.print(text, highlight=highlight)


def _extract(files: list[Path], fmt: str, out: Path | None) -> int:
    from camtel.media.extract import run_extract

    width = plain_width()
    if width is None:  # a terminal, colours forced, an odd COLUMNS: Rich itself
        from rich.console import Console

        return run_extract(files, fmt, out, Console(stderr=True))
    return run_extract(files, fmt, out, PlainConsole(width))


def _completing() -> bool:
    """Shell completion asks through `_<PROG>_COMPLETE`; only Typer answers it."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)


def main() -> None:
    """The `camtel` command."""
    args = sys.argv[1:]
    parsed = parse_extract(args[1:]) if args[:1] == ["extract"] and not _completing() else None
    if parsed is None:
        from camtel.cli import main as typer_main

        typer_main()
        return
    try:
        code = _extract(*parsed)
    except KeyboardInterrupt:  # as Typer does: no message, exit code 130
        code = 130
    sys.exit(code)
