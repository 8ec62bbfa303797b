"""The pure pricing function: graduated tiers never make a device dearer as the fleet grows,
totals never shrink, every amount is exact to the cent, and bad requests name their field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from camtel.sales import catalogue
from camtel.sales.pricing import (
    MAX_DEVICES,
    PriceTable,
    QuoteInvalid,
    QuoteRequest,
    cents,
    graduated,
    quote,
)

TABLE = catalogue.load()
OPTIONS = list(TABLE.options)
counts = st.integers(min_value=1, max_value=MAX_DEVICES)
modes = st.sampled_from(["buy", "rent"])
months = st.sampled_from(TABLE.lease_lengths)
singles = st.lists(st.sampled_from(["lte", "extra_camera", "installation"]), unique=True)
cards = st.sampled_from([[], ["sd_128"], ["sd_256"]])


def priced(mode: str, devices: int, lease: int = 36, options: list[str] | None = None):  # type: ignore[no-untyped-def]
    return quote(
        TABLE,
        QuoteRequest(
            mode=mode,
            devices=devices,
            months=lease if mode == "rent" else None,
            options=options or [],
        ),
    )


@settings(max_examples=300, deadline=None)
@given(modes, counts, counts, months)
def test_more_devices_never_cost_more_per_device(mode, a, b, lease):
    fewer, more = sorted((a, b))
    small, large = priced(mode, fewer, lease), priced(mode, more, lease)
    # Per device: compared exactly, as cross products (no rounding in the comparison).
    devices_small = sum(line.amount for line in small.lines if line.code == "devices")
    devices_large = sum(line.amount for line in large.lines if line.code == "devices")
    assert devices_large * fewer <= devices_small * more
    # ...and never below the cheapest tier reached, never above the first tier.
    product = TABLE.buy if mode == "buy" else TABLE.rent
    factor = Decimal(1) if mode == "buy" else TABLE.rent.lease_factors[lease]
    cheapest = cents(graduated(product.tiers, more)[-1][2] * factor)
    assert cheapest * more <= devices_large <= cents(product.tiers[0].price * factor) * more


@st.composite
def tables(draw):  # type: ignore[no-untyped-def]
    """Any price table an operator may write: tiers from device 1, each no dearer than the
    one before, any lease factors."""
    starts = draw(st.lists(st.integers(2, MAX_DEVICES), max_size=6, unique=True))
    prices = draw(
        st.lists(
            st.decimals(min_value=0, max_value=5000, places=2),
            min_size=len(starts) + 1,
            max_size=len(starts) + 1,
        )
    )
    tiers = [
        {"from": start, "price": price}
        for start, price in zip([1, *sorted(starts)], sorted(prices, reverse=True), strict=True)
    ]
    factors = draw(
        st.dictionaries(
            st.integers(1, 120), st.decimals(min_value="0.01", max_value=2, places=4), min_size=1
        )
    )
    raw = TABLE.model_dump(by_alias=True, exclude={"demo"})
    raw["buy"]["tiers"] = tiers
    raw["rent"]["tiers"] = tiers
    raw["rent"]["lease_factors"] = factors
    return PriceTable.model_validate(raw)


@settings(max_examples=300, deadline=None)
@given(tables(), modes, counts, counts, st.data())
def test_any_valid_table_keeps_both_promises(table, mode, a, b, data):
    fewer, more = sorted((a, b))
    lease = data.draw(st.sampled_from(table.lease_lengths)) if mode == "rent" else None

    def ask(devices: int):  # type: ignore[no-untyped-def]
        return quote(table, QuoteRequest(mode=mode, devices=devices, months=lease))

    small, large = ask(fewer), ask(more)
    assert large.net * fewer <= small.net * more, "a device never costs more in a larger fleet"
    assert small.total <= large.total, "a larger fleet never costs less in all"


@settings(max_examples=300, deadline=None)
@given(modes, counts, counts, months, singles, cards)
def test_more_devices_never_cost_less_in_total(mode, a, b, lease, options, card):
    fewer, more = sorted((a, b))
    small = priced(mode, fewer, lease, options + card)
    large = priced(mode, more, lease, options + card)
    assert small.net <= large.net and small.total <= large.total
    if small.monthly is not None:
        assert large.monthly is not None and small.monthly <= large.monthly


@settings(max_examples=200, deadline=None)
@given(modes, counts, months, singles, cards)
def test_amounts_add_up_to_the_cent(mode, devices, lease, options, card):
    q = priced(mode, devices, lease, options + card)
    for line in q.lines:
        assert line.amount == line.unit_price * line.quantity
        assert line.amount == line.amount.quantize(Decimal("0.01"))
    assert sum(line.quantity for line in q.lines if line.code == "devices") == devices
    assert q.once_net == sum(line.amount for line in q.lines if line.billing == "once")
    monthly = sum((line.amount for line in q.lines if line.billing == "monthly"), Decimal(0))
    assert q.net == q.once_net + (monthly * lease if mode == "rent" else 0)
    assert q.total == q.net + q.vat
    assert q.vat == (q.net * TABLE.vat_percent / 100).quantize(Decimal("0.01"))
    assert q.as_json()["total"] == str(q.total)


def test_a_known_quote_for_buying_and_for_renting():
    buy = priced("buy", 55, options=["lte", "sd_128"])
    # 9 at 249, 40 at 229, 6 at 209 = 12,655; SD cards 55 x 19 = 1,045; VAT 19 %.
    assert buy.once_net == Decimal("13700.00") and buy.total == Decimal("16303.00")
    assert buy.monthly == Decimal("320.71")  # LTE: 55 x 4.90 = 269.50 net a month
    rent = priced("rent", 12, 24, options=["installation"])
    # Monthly 9 x 13.41 + 3 x 12.51 (tier prices x 0.90) = 158.22; installation 12 x 89.
    assert rent.monthly_net == Decimal("158.22") and rent.once_net == Decimal("1068.00")
    assert rent.net == Decimal("1068.00") + Decimal("158.22") * 24
    assert rent.as_json()["monthly"] == str(rent.monthly)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"mode": "buy", "devices": 0}, "devices", "1 to 10,000"),
        ({"mode": "buy", "devices": 10_000_000}, "devices", "1 to 10,000"),
        ({"mode": "buy", "devices": "ten"}, "devices", "whole number"),
        ({"mode": "buy", "devices": 2.5}, "devices", "whole number"),
        ({"mode": "buy", "devices": True}, "devices", "whole number"),
        ({"mode": "rent", "devices": 3, "months": -12}, "months", "whole number"),
        ({"mode": "rent", "devices": 3, "months": "a year"}, "months", "whole number"),
        ({"mode": "lease", "devices": 3}, "mode", '"buy" or "rent"'),
    ],
)
def test_requests_out_of_bounds_are_refused_by_field(body, field, words):
    with pytest.raises(ValidationError) as refused:
        QuoteRequest.model_validate(body)
    error = refused.value.errors()[0]
    assert error["loc"] == (field,) and words in error["msg"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"mode": "buy", "devices": 3, "options": ["lte", "warp"]}, "options", "warp"),
        ({"mode": "buy", "devices": 3, "options": ["sd_128", "sd_256"]}, "options", "one of"),
        ({"mode": "rent", "devices": 3, "months": 18}, "months", "12, 24, 36"),
        ({"mode": "rent", "devices": 3}, "months", "needed"),
    ],
)
def test_requests_the_table_cannot_price_name_their_field(body, field, words):
    with pytest.raises(QuoteInvalid) as refused:
        quote(TABLE, QuoteRequest.model_validate(body))
    assert refused.value.extra["field"] == field and words in refused.value.detail


def test_form_text_is_read_and_buy_ignores_months():
    q = quote(TABLE, QuoteRequest.model_validate({"mode": "buy", "devices": " 12 ", "months": "7"}))
    assert q.devices == 12 and q.months is None
    one = QuoteRequest.model_validate({"mode": "buy", "devices": 1, "options": "lte"})
    assert one.options == ["lte"]


def test_a_table_with_a_dearer_tier_later_is_refused():
    raw = TABLE.model_dump(by_alias=True, exclude={"demo"})
    raw["buy"]["tiers"][2]["price"] = Decimal("300.00")
    with pytest.raises(ValidationError, match="more devices must never cost more"):
        PriceTable.model_validate(raw)
    raw = TABLE.model_dump(by_alias=True, exclude={"demo"})
    raw["buy"]["tiers"][0]["from"] = 2
    with pytest.raises(ValidationError, match="start at device 1"):
        PriceTable.model_validate(raw)


def test_a_broken_price_table_stops_camtel_with_its_key(tmp_path):
    broken = tmp_path / "prices.toml"
    example = catalogue.EXAMPLE.read_text()
    broken.write_text(example.replace('vat_percent = "19"', 'vat_percent = "190"'))
    with pytest.raises(catalogue.CatalogueError, match="vat_percent"):
        catalogue.load(broken)
    with pytest.raises(catalogue.CatalogueError, match="cannot read"):
        catalogue.load(tmp_path / "missing.toml")
