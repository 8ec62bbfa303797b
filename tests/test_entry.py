"""`camtel extract` without Typer: the same output, errors and exit codes as the Typer command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from camtel.entry import PlainConsole, parse_extract, plain_width

FIXTURES = Path(__file__).parent / "data" / "fixtures"
KARMA = FIXTURES / "gopro_karma.mp4"
HERO11 = FIXTURES / "gopro_hero11_gpmf.raw"
CAMTEL = str(Path(sys.executable).with_name("camtel"))
# The Typer app run directly, as `camtel` did before camtel.entry.
TYPER = [
    sys.executable,
    "-c",
    "import sys; sys.argv[0] = 'camtel'; from camtel.cli import main; main()",
]
SLOW_MODULES = ("typer", "click", "rich", "pydantic", "sqlalchemy", "asyncio")


RICH_SETTINGS = {"COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE"}


def _env(**extra: str) -> dict[str, str]:
    """This environment without Rich's own settings, plus `extra`."""
    return {k: v for k, v in os.environ.items() if k not in RICH_SETTINGS} | extra


def _run(command: list[str], args: list[str], cwd: Path, env: dict[str, str]) -> tuple:
    done = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    written = {p.name: p.read_bytes() for p in sorted(cwd.iterdir()) if p.suffix == ".out"}
    for path in cwd.glob("*.out"):
        path.unlink()
    return done.returncode, done.stdout, done.stderr, written


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Real recordings, a photo named like a video, and a name that needs Rich's escaping."""
    (tmp_path / "karma.mp4").write_bytes(KARMA.read_bytes())
    (tmp_path / "hero11.raw").write_bytes(HERO11.read_bytes())
    (tmp_path / "photo.mp4").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    (tmp_path / "[dim]karma.mp4").write_bytes(KARMA.read_bytes())
    return tmp_path


LONG = "a-recording-name-long-enough-that-rich-wraps-the-line-it-is-reported-on.mp4"

CASES = {
    "gpx to stdout": ["extract", "karma.mp4"],
    "two files, -o": ["extract", "hero11.raw", "karma.mp4", "-o", "track.out"],
    "csv, --output=": ["extract", "--format", "csv", "karma.mp4", "--output=track.out"],
    "GeoJSON, --format=": ["extract", "--format=GeoJSON", "hero11.raw", "karma.mp4"],
    "after --": ["extract", "-o", "track.out", "--", "karma.mp4"],
    "missing file": ["extract", "karma.mp4", "missing.mp4"],
    "not a video": ["extract", "photo.mp4"],
    "some without a track": ["extract", "photo.mp4", "karma.mp4", "-o", "track.out"],
    "unknown format": ["extract", "karma.mp4", "--format", "kml"],
    "unwritable output": ["extract", "karma.mp4", "-o", "no/such/folder.out"],
    "output is an input": ["extract", "karma.mp4", "-o", "karma.mp4"],
    "markup in a name": ["extract", "[dim]karma.mp4", "-o", "track.out"],
    "a line Rich wraps": ["extract", LONG],
    "help": ["extract", "--help"],
    "no file": ["extract", "--format", "csv"],
    "unknown option": ["extract", "karma.mp4", "--fromat", "csv"],
    "option without value": ["extract", "karma.mp4", "-o"],
}


@pytest.mark.parametrize("args", CASES.values(), ids=CASES.keys())
def test_same_as_the_typer_command(folder: Path, args: list[str]) -> None:
    fast = _run([CAMTEL], args, folder, _env())
    assert fast == _run(TYPER, args, folder, _env())
    assert fast[0] != 0 or fast[1] or fast[3], "a success writes a track"


def test_same_when_rich_decides_the_width(folder: Path) -> None:
    args = ["extract", "karma.mp4", "photo.mp4", "missing.mp4"]
    for env in (_env(COLUMNS="30"), _env(COLUMNS="wide"), _env(FORCE_COLOR="1")):
        assert _run([CAMTEL], args, folder, env) == _run(TYPER, args, folder, env)


def test_exit_codes(folder: Path) -> None:
    def code(*args: str) -> int:
        return _run([CAMTEL], ["extract", *args], folder, _env())[0]

    assert code("karma.mp4", "hero11.raw") == 0
    assert code("photo.mp4") == 1
    assert code("missing.mp4") == 2
    assert code("karma.mp4", "--format", "kml") == 2
    assert code("photo.mp4", "karma.mp4") == 3


def test_extract_loads_no_framework(folder: Path) -> None:
    probe = (
        "import sys; import camtel.entry as entry\n"
        "sys.argv = ['camtel', 'extract', 'karma.mp4', '-o', 'track.out']\n"
        "try:\n    entry.main()\nexcept SystemExit as done:\n    code = done.code\n"
        f"print(code, sorted({{m.split('.')[0] for m in sys.modules}} & {set(SLOW_MODULES)!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=folder, env=_env(), capture_output=True, text=True
    )
    assert done.stdout.strip() == "0 []", done.stderr


@pytest.mark.parametrize(
    ("args", "parsed"),
    [
        (["a.mp4"], ([Path("a.mp4")], "gpx", None)),
        (["a.mp4", "-o", "x.gpx", "b.mp4"], ([Path("a.mp4"), Path("b.mp4")], "gpx", Path("x.gpx"))),
        (["--format", "csv", "--format=kml", "a.mp4"], ([Path("a.mp4")], "kml", None)),
        (["--", "-a.mp4", "--help"], ([Path("-a.mp4"), Path("--help")], "gpx", None)),
        ([], None),
        (["--help", "a.mp4"], None),
        (["a.mp4", "-h"], None),
        (["a.mp4", "--form", "csv"], None),
        (["a.mp4", "-ox.gpx"], None),
        (["a.mp4", "-o=x.gpx"], None),
        (["a.mp4", "--format"], None),
        (["a.mp4", "--format", "-o"], None),
        (["a.mp4", "--format="], None),
        (["-", "a.mp4"], None),
        ([""], None),
    ],
)
def test_parse_extract(args: list[str], parsed: tuple | None) -> None:
    assert parse_extract(args) == parsed


LINES = [
    ("karma.mp4: 47 points (gopro-gpmf-gpri)", False),
    ("[yellow]photo.mp4: no GPS track[/] (cannot read a track: this is a JPEG image)", False),
    ("  [dim]70mai times are the file's creation time plus each offset[/]", False),
    ("[red]unknown format 'kml'[/]: choose one of gpx, geojson, csv", None),
    ("[red]cannot read[/] missing.mp4, other.mp4", None),
    ("wrote 107 points to /tmp/x/track.gpx", None),
    ("x" * 79, None),
    ("x" * 80, None),
    ("x" * 81, None),
    ("word " * 20 + "end", None),
    ("trailing space ", None),
    ("\\[dim]name.mp4: 3 points (nmea)", False),
    ("a:thumbs_up:.mp4: 3 points (nmea)", False),
    ("fahrt-münchen.mp4: 3 points (nmea)", False),
    ("tab\there", None),
    ("[red]cannot read[/] [bold]x.mp4", None),
]


@pytest.mark.parametrize(("text", "highlight"), LINES)
@pytest.mark.parametrize("width", [80, 40])
def test_plain_console_writes_what_rich_writes(
    text: str,
    highlight: bool | None,
    width: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    rich = io.StringIO()
    Console(file=rich).print(text, highlight=highlight)
    plain = plain_width()
    assert plain == width
    PlainConsole(plain).print(text, highlight=highlight)
    assert capsys.readouterr().err == rich.getvalue()
