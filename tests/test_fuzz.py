"""The fuzzers (`fuzz/`, atheris): every input that once broke a parser is replayed here, the
seeds pass, and in CI each target is fuzzed for a few seconds (`make fuzz` runs longer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.env import missing

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fuzz"))

from run import seeds  # noqa: E402  (fuzz/ is a folder of scripts)
from targets import TARGETS  # noqa: E402

FOUND = REPO / "tests" / "data" / "fuzz"
#: Seconds each target is fuzzed by `make test` (CI); `make fuzz` takes FUZZ_SECONDS.
CI_SECONDS = int(os.environ.get("CAMTEL_FUZZ_SECONDS", "8"))


def _found() -> list[tuple[str, Path]]:
    return sorted(
        (folder.name, path)
        for folder in FOUND.iterdir()
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file()
    )


@pytest.mark.parametrize(("target", "path"), _found(), ids=lambda v: getattr(v, "name", v))
def test_an_input_that_once_broke_a_parser_no_longer_does(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_seeds_are_real_inputs_that_pass(target: str) -> None:
    found = seeds(target)
    assert found, "a fuzzer starts from real inputs"
    for seed in found:
        TARGETS[target](seed)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_short_fuzzing_run_finds_nothing(target: str) -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        missing("atheris is not installed (pip install atheris)")
    run = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "run.py"), target, "--seconds", str(CI_SECONDS)],
        capture_output=True,
        text=True,
        timeout=CI_SECONDS + 120,
    )
    stats = [line for line in run.stderr.splitlines() if line.startswith("stat::")]
    assert run.returncode == 0, run.stderr[-4000:]
    assert any(line.startswith("stat::number_of_executed_units") for line in stats), stats
