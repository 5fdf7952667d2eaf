from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psa.kernel.money import (
    Money,
    MoneyError,
    exponent,
    from_minor_units,
    round_money,
    to_minor_units,
)

CURRENCIES = ["EUR", "GBP", "USD", "JPY", "KWD", "CLP"]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "EUR", Decimal("2.35")),  # half up, not banker's rounding
        ("2.335", "EUR", Decimal("2.34")),
        ("-2.345", "EUR", Decimal("-2.35")),  # half away from zero for negatives
        ("12.5", "JPY", Decimal("13")),
        ("1.2345", "KWD", Decimal("1.235")),
        ("0.005", "GBP", Decimal("0.01")),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(amount, currency, expected):
    assert round_money(amount, currency) == expected
    assert round_money(amount, currency).as_tuple().exponent == -exponent(currency)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "EUR", 1234), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0.30", "USD", 30)],
)
def test_minor_unit_conversion_both_ways(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor
    assert from_minor_units(minor, currency) == Decimal(amount)


def test_floats_are_refused_everywhere():
    with pytest.raises(MoneyError, match="float"):
        round_money(0.1, "EUR")
    with pytest.raises(MoneyError, match="float"):
        Money(0.1, "EUR")
    with pytest.raises(MoneyError):
        from_minor_units(12.0, "EUR")  # type: ignore[arg-type]


def test_amounts_finer_than_the_minor_unit_cannot_become_minor_units():
    with pytest.raises(MoneyError, match="more decimals"):
        to_minor_units(Decimal("10.001"), "EUR")
    with pytest.raises(MoneyError, match="more decimals"):
        to_minor_units(Decimal("10.5"), "JPY")


def test_money_refuses_mixing_currencies():
    with pytest.raises(MoneyError, match="Cannot combine"):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "GBP")
    assert (Money(Decimal("1.10"), "eur") + Money(Decimal("2.20"), "EUR")).amount == Decimal("3.30")
    assert str(Money(Decimal("1234.5"), "EUR")) == "1,234.50 EUR"


def test_bad_codes_and_amounts_are_refused():
    with pytest.raises(MoneyError, match="ISO 4217"):
        exponent("EURO")
    with pytest.raises(MoneyError, match="Not an amount"):
        round_money("ten", "EUR")
    with pytest.raises(MoneyError, match="Not an amount"):
        round_money("NaN", "EUR")


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(CURRENCIES)
)
def test_minor_units_round_trip(minor, currency):
    assert to_minor_units(from_minor_units(minor, currency), currency) == minor


@given(
    amount=st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=6),
    currency=st.sampled_from(CURRENCIES),
)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(amount, currency):
    once = round_money(amount, currency)
    assert round_money(once, currency) == once
    assert abs(once - amount) <= Decimal(1).scaleb(-exponent(currency)) / 2


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("ISK", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("IQD", 3),
        ("LYD", 3),
        ("CLP", 0),
    ],
)
def test_the_minor_unit_is_iso_4217s(currency, places):
    assert exponent(currency) == places


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("XXQ", "Not an ISO 4217"),  # no such currency (three letters were enough before)
        ("CLF", "fund"),  # a fund of four decimals
        ("UYW", "4 decimals"),
        ("XAU", "no minor unit"),  # a metal
        ("XXX", "no minor unit"),  # "no currency"
        ("MXV", "fund"),  # a fund, though ISO gives it two decimals
    ],
)
def test_unknown_and_unsupported_codes_are_refused_with_the_reason(code, why):
    with pytest.raises(MoneyError, match=why):
        exponent(code)
    with pytest.raises(MoneyError):
        Money(Decimal(1), code)


def test_every_supported_currency_fits_the_money_columns():
    from billing.models import Invoice
    from ledger.models import JournalLine
    from projects.models import RateCard
    from psa.kernel.money import SUPPORTED

    assert {"EUR", "JPY", "KWD"} <= SUPPORTED and "CLF" not in SUPPORTED
    places = max(exponent(code) for code in SUPPORTED)
    for model, field in ((JournalLine, "debit"), (Invoice, "total"), (RateCard, "rate")):
        assert model._meta.get_field(field).decimal_places >= places


def test_pages_show_each_currency_with_its_own_decimals():
    """The columns hold three decimals for every currency; pages show the currency's own."""
    from psa.kernel.templatetags.psa import amount, money

    assert money(Decimal("97.217"), "KWD") == "97.217 KWD"
    assert money(Decimal("123750.000"), "JPY") == "123,750 JPY"
    assert money(Decimal("1234.500"), "EUR") == "1,234.50 EUR"
    # A form field's value: no grouping, no currency, no third decimal for EUR.
    assert amount(Decimal("12.340"), "EUR") == "12.34"
    assert amount(Decimal("1500.000"), "JPY") == "1500"
    assert amount(Decimal("1000.000")) == "1000.00"  # a review limit: in no one currency
    assert amount(Decimal("10.005")) == "10.005"
    assert amount(None) == ""
