"""Quotes: the operator's price table and the one pure function that prices a request.

The pricing page and `POST /api/v1/quotes` both call `quote()`, so they cannot disagree.
Device prices are *graduated*: the first devices cost the first tier's price, the next ones
the next tier's, and so on (like tax brackets). Because the table must list tiers from the
dearest to the cheapest, adding a device never raises the average price per device and never
lowers the total (tests/sales/test_pricing.py proves both with hypothesis). All arithmetic is
`Decimal`, rounded half-up to cents at each line, at VAT and at the monthly figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from camtel.errors import Invalid

#: The most devices one quote may price (a larger fleet is a conversation, not a form).
MAX_DEVICES = 10_000
#: The most options one request may name.
MAX_OPTIONS = 20
CENT = Decimal("0.01")

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Mode = Literal["buy", "rent"]
Billing = Literal["once", "monthly"]

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def cents(value: Decimal) -> Decimal:
    """`value` rounded half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the price table -----------------------------------------------------------------------


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Config):
    """From the `start`-th device on (until the next tier), each device costs `price`."""

    start: int = Field(alias="from", ge=1, le=MAX_DEVICES, description="First device of the tier.")
    price: Money = Field(description="Net price of each device in this tier.")


class Labels(_Config):
    """A name shown to people, in English and optionally other languages of the pages."""

    en: str = Field(min_length=1, max_length=120)
    de: str = Field("", max_length=120)

    def get(self, lang: str) -> str:
        """The name in `lang`, English when that language has none."""
        return (getattr(self, lang, "") if lang in ("en", "de") else "") or self.en


def _tiers_descend(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    if not tiers or tiers[0].start != 1:
        raise ValueError("the first tier must start at device 1")
    for before, after in pairwise(tiers):
        if after.start <= before.start:
            raise ValueError("tiers must be listed by their first device, ascending")
        if after.price > before.price:
            raise ValueError(
                f"the tier from device {after.start} costs more than the one before: more "
                "devices must never cost more per device"
            )
    return tiers


class Purchase(_Config):
    """Buying devices: a one-off price per device, graduated by volume."""

    label: Labels
    tiers: tuple[Tier, ...]

    @field_validator("tiers")
    @classmethod
    def _descending(cls, value: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _tiers_descend(value)


class Lease(_Config):
    """Renting devices: a monthly price per device, graduated by volume, times the factor of
    the lease length (longer leases cost less a month)."""

    label: Labels
    tiers: tuple[Tier, ...]
    lease_factors: dict[int, Annotated[Decimal, Field(gt=0, le=2, decimal_places=4)]] = Field(
        description="Lease length in months -> factor on the monthly tier prices."
    )

    @field_validator("tiers")
    @classmethod
    def _descending(cls, value: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _tiers_descend(value)

    @field_validator("lease_factors")
    @classmethod
    def _lengths(cls, value: dict[int, Decimal]) -> dict[int, Decimal]:
        if not value:
            raise ValueError("name at least one lease length")
        if any(not 1 <= months <= 120 for months in value):
            raise ValueError("lease lengths must be 1 to 120 months")
        return dict(sorted(value.items()))


class OptionPrice(_Config):
    """What an option costs per device: once, and/or each month."""

    once: Money = Decimal(0)
    monthly: Money = Decimal(0)


class Option(_Config):
    """An extra per device (a data plan, a second camera, installation, an SD card)."""

    label: Labels
    group: str = Field(
        "",
        max_length=40,
        description="Options of one group exclude each other (one SD card size per device).",
    )
    buy: OptionPrice
    rent: OptionPrice | None = Field(None, description="When renting; the buy prices if absent.")

    def price(self, mode: Mode) -> OptionPrice:
        return self.rent if mode == "rent" and self.rent is not None else self.buy


class PriceTable(_Config):
    """The operator's prices (net), VAT and options; see prices.example.toml."""

    version: str = Field("1", max_length=40, description="Kept with every saved quote.")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    vat_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
    buy: Purchase
    rent: Lease
    options: dict[str, Option] = Field(default_factory=dict)
    groups: dict[str, Labels] = Field(
        default_factory=dict, description="Names of the option groups, shown above their choices."
    )

    @field_validator("options")
    @classmethod
    def _codes(cls, value: dict[str, Option]) -> dict[str, Option]:
        bad = [code for code in value if not _CODE.match(code)]
        if bad:
            raise ValueError(f"option names must be lower-case words like `lte`: {bad}")
        return value

    @property
    def lease_lengths(self) -> list[int]:
        return list(self.rent.lease_factors)

    def grouped(self) -> dict[str, list[str]]:
        """Each group of mutually exclusive options, with its options in table order."""
        out: dict[str, list[str]] = {}
        for code, option in self.options.items():
            if option.group:
                out.setdefault(option.group, []).append(code)
        return out


# --- the request ---------------------------------------------------------------------------


def _whole(value: Any, *, name: str, low: int, high: int, message: str) -> int:
    """`value` as a whole number within [low, high], or a validation error saying `message`.
    Accepts an int, a float that is whole, or the text of one (a form field)."""
    number: int | None = None
    whole_float = isinstance(value, float) and value.is_integer()
    digits = isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,9}\s*", value)
    if (isinstance(value, int) and not isinstance(value, bool)) or whole_float or digits:
        number = int(value)
    if number is None or not low <= number <= high:
        raise PydanticCustomError(f"{name}_invalid", message)
    return number


DEVICES_MESSAGE = f"devices must be a whole number from 1 to {MAX_DEVICES:,}"
MONTHS_MESSAGE = "months must be a whole number of months (12, 24, 36...)"


class QuoteRequest(BaseModel):
    """What a visitor asks a price for. Bounds that need no price table are checked here;
    lease lengths and option names against the table by `quote()`."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(description="`buy` or `rent`.")
    devices: int = Field(
        description=f"Number of devices, 1 to {MAX_DEVICES:,}.",
        json_schema_extra={"minimum": 1, "maximum": MAX_DEVICES},
    )
    months: int | None = Field(
        None, description="Lease length in months (renting only; one of the table's lengths)."
    )
    options: list[str] = Field(
        default_factory=list, max_length=MAX_OPTIONS, description="Option names, e.g. `lte`."
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if value not in ("buy", "rent"):
            raise PydanticCustomError("mode_invalid", 'mode must be "buy" or "rent"')
        return value

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, value: Any) -> int:
        return _whole(value, name="devices", low=1, high=MAX_DEVICES, message=DEVICES_MESSAGE)

    @field_validator("months", mode="before")
    @classmethod
    def _months(cls, value: Any) -> int | None:
        if value is None or value == "":
            return None
        return _whole(value, name="months", low=1, high=1200, message=MONTHS_MESSAGE)

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise PydanticCustomError("options_invalid", "options must be a list of names")
        # Empty names are what a form's "none" choice sends; repeats mean the same option.
        return list(dict.fromkeys(v.strip() for v in value if v.strip()))

    @model_validator(mode="after")
    def _codes_are_short(self) -> QuoteRequest:
        if any(len(code) > 40 for code in self.options):
            raise PydanticCustomError("options_invalid", "option names are at most 40 characters")
        return self


class QuoteInvalid(Invalid):
    """A request the price table cannot price: an unknown option, an unoffered lease."""


# --- the quote -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a quote: net amounts; `amount` is per month for monthly lines."""

    code: str  # "devices" or an option's name
    label: str  # English; pages show their own translation by `code`
    quantity: int
    unit_price: Decimal
    billing: Billing
    amount: Decimal
    first: int | None = None  # device lines: the tier's first and last device in this quote
    last: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "label": self.label,
            "quantity": self.quantity,
            "unit_price": str(self.unit_price),
            "billing": self.billing,
            "amount": str(self.amount),
        }
        if self.first is not None:
            out["first"], out["last"] = self.first, self.last
        return out


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced request. `total` is what the whole quote costs with VAT: the one-off price
    when buying (monthly services run on, shown in `monthly`), the whole lease when renting."""

    mode: Mode
    devices: int
    months: int | None
    options: tuple[str, ...]
    currency: str
    vat_percent: Decimal
    lines: tuple[Line, ...]
    once_net: Decimal
    monthly_net: Decimal | None
    net: Decimal
    vat: Decimal
    total: Decimal
    monthly: Decimal | None  # with VAT, per month
    version: str

    @property
    def per_device(self) -> Decimal:
        """Net price of the devices alone, per device (once when buying, a month when renting)."""
        devices = sum((line.amount for line in self.lines if line.code == "devices"), Decimal(0))
        return devices / self.devices

    def as_json(self) -> dict[str, Any]:
        """The answer of `POST /api/v1/quotes`: amounts as decimal strings."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "devices": self.devices,
            "months": self.months,
            "options": list(self.options),
            "currency": self.currency,
            "lines": [line.as_json() for line in self.lines],
            "once_net": str(self.once_net),
            "monthly_net": str(self.monthly_net) if self.monthly_net is not None else None,
            "net": str(self.net),
            "vat_percent": str(self.vat_percent),
            "vat": str(self.vat),
            "total": str(self.total),
            "price_table": self.version,
        }
        if self.monthly is not None:
            out["monthly"] = str(self.monthly)
        return out


def graduated(tiers: tuple[Tier, ...], devices: int) -> list[tuple[int, int, Decimal]]:
    """(first, last, price) of each tier `devices` reach, in order. Pure."""
    bands = []
    for index, tier in enumerate(tiers):
        if tier.start > devices:
            break
        following = tiers[index + 1].start - 1 if index + 1 < len(tiers) else devices
        bands.append((tier.start, min(following, devices), tier.price))
    return bands


def _checked(table: PriceTable, request: QuoteRequest) -> tuple[int | None, tuple[str, ...]]:
    unknown = [code for code in request.options if code not in table.options]
    if unknown:
        raise QuoteInvalid(
            f"unknown option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(offered: {', '.join(table.options) or 'none'})",
            field="options",
            unknown=unknown,
        )
    for group, members in table.grouped().items():
        chosen = [code for code in request.options if code in members]
        if len(chosen) > 1:
            raise QuoteInvalid(
                f"choose at most one of {', '.join(members)} ({group})", field="options"
            )
    months = None
    if request.mode == "rent":
        lengths = ", ".join(map(str, table.lease_lengths))
        if request.months is None:
            raise QuoteInvalid(f"months is needed to rent: one of {lengths}", field="months")
        if request.months not in table.rent.lease_factors:
            raise QuoteInvalid(f"months must be one of {lengths}", field="months")
        months = request.months
    # Options in the table's order, so that equal requests give identical quotes.
    return months, tuple(code for code in table.options if code in request.options)


def quote(table: PriceTable, request: QuoteRequest) -> Quote:
    """Price a request with a table: QuoteInvalid (422, naming the field) when it cannot."""
    months, options = _checked(table, request)
    devices = request.devices
    lines: list[Line] = []
    product: Purchase | Lease
    billing: Billing
    if request.mode == "buy":
        product, billing, factor = table.buy, "once", Decimal(1)
    else:
        product, billing, factor = table.rent, "monthly", table.rent.lease_factors[months or 0]
    for first, last, price in graduated(product.tiers, devices):
        unit = cents(price * factor)
        count = last - first + 1
        lines.append(
            Line("devices", product.label.en, count, unit, billing, unit * count, first, last)
        )
    for code in options:
        option = table.options[code]
        prices = option.price(request.mode)
        kinds: tuple[tuple[Billing, Decimal], ...] = (
            ("once", prices.once),
            ("monthly", prices.monthly),
        )
        for kind, unit in kinds:
            if unit:
                lines.append(Line(code, option.label.en, devices, unit, kind, unit * devices))
    once_net = sum((line.amount for line in lines if line.billing == "once"), Decimal(0))
    monthly_lines = [line.amount for line in lines if line.billing == "monthly"]
    monthly_net = sum(monthly_lines, Decimal(0)) if monthly_lines else None
    rate = table.vat_percent / 100
    net = once_net + (monthly_net or 0) * (months or 0)
    vat = cents(net * rate)
    return Quote(
        mode=request.mode,
        devices=devices,
        months=months,
        options=options,
        currency=table.currency,
        vat_percent=table.vat_percent,
        lines=tuple(lines),
        once_net=once_net,
        monthly_net=monthly_net,
        net=net,
        vat=vat,
        total=net + vat,
        monthly=cents(monthly_net * (1 + rate)) if monthly_net is not None else None,
        version=table.version,
    )
