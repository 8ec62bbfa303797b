"""The recorded test data is inside the repository, each file with its origin and licence."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.env import DATA

REPO = Path(__file__).resolve().parents[1]
LISTED = re.compile(r"^\| `([^`]+)` \| .+ \| (\S[^|]*\S) \|$", re.M)


def test_every_data_file_is_listed_with_its_origin_and_licence() -> None:
    listed = dict(LISTED.findall((DATA / "ORIGIN.md").read_text()))
    present = {
        str(p.relative_to(DATA))
        for p in DATA.rglob("*")
        if p.is_file() and p.suffix != ".md"
    }
    assert present, "the test data folder is empty"
    assert present - set(listed) == set(), "files without an origin line"
    assert set(listed) - present == set(), "origin lines without a file"
    assert all(licence.strip() for licence in listed.values())


#: How a test would reach the team's shared folder next to the repository; spelt in pieces so
#: that this file does not itself match what it (and the pre-stop check) look for.
OUTSIDE = "|".join(
    [re.escape("..") + "/" + "shared", "CAMTEL_" + "SHARED_DIR", r'parent / "shared"']
)


def test_no_test_reads_data_from_outside_the_repository() -> None:
    assert DATA.is_relative_to(REPO)
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "tests").rglob("*.py")
        if path.name != Path(__file__).name
        and re.search(OUTSIDE, path.read_text())
    ]
    assert offenders == []
