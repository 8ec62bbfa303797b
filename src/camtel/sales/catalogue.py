"""The operator's sales configuration: the price table and demo availability, one TOML file
named by `CAMTEL_PRICE_TABLE` (the shipped example when unset), read once and checked."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError

from camtel.config import Settings
from camtel.sales.availability import Availability
from camtel.sales.pricing import PriceTable

EXAMPLE = Path(__file__).with_name("prices.example.toml")


class Catalogue(PriceTable):
    """The whole file: the price table, and its `[demo]` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    demo: Availability = Field(default_factory=Availability)


class CatalogueError(Exception):
    """The file is missing or wrong; the message names the file and the key."""


def _read(path: Path) -> Catalogue:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"cannot read the price table {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"the price table {path} is not valid TOML: {exc}") from None
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise CatalogueError(f"the price table {path}: {where}: {first['msg']}") from None


@cache
def load(path: Path | None = None) -> Catalogue:
    """The catalogue at `path` (the shipped example when None), read once per process."""
    return _read(path or EXAMPLE)


def sales_address(settings: Settings) -> str:
    """Where new leads and bookings are announced (and who organises demos): the sales
    team's address, else the operator's; "" when neither is set."""
    return settings.sales_email or settings.operator_email
