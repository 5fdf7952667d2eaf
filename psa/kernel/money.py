"""Money: ``Decimal`` amounts with a currency, one rounding rule, one minor-unit conversion.

Rounding is ROUND_HALF_UP to the currency's minor unit, everywhere: invoices, tax, ledger
postings. Conversion to and from integer minor units (Stripe's amounts) happens only here.
Floats are refused outright: a float has already lost the cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib.resources import files
from xml.etree import ElementTree

from iso4217 import Currency


class MoneyError(ValueError):
    pass


def _iso_4217() -> tuple[dict[str, int | None], frozenset[str]]:
    """ISO 4217's minor units from the ``iso4217`` package (ISO's own published table, not
    CLDR's display digits; metals and testing codes have none), and its fund codes: a fund
    (CLF, MXV, USN…) is a unit of account, never what an invoice is written in."""
    table = files("iso4217").joinpath("table.xml").read_bytes()
    root = ElementTree.fromstring(table)  # noqa: S314 - the package's own file, not input
    funds = frozenset(
        entry.findtext("Ccy") or ""
        for entry in root.iter("CcyNtry")
        if (name := entry.find("CcyNm")) is not None and name.get("IsFund") == "true"
    )
    return {c.code: c.exponent for c in Currency}, funds


_ISO_MINOR_UNITS, _ISO_FUNDS = _iso_4217()
# Money columns hold three decimals (the most any supported currency has: KWD, BHD, JOD, OMR,
# TND, IQD, LYD); a currency needing more (UYW) is not supported.
MAX_DECIMALS = 3
SUPPORTED = frozenset(
    code
    for code, places in _ISO_MINOR_UNITS.items()
    if places is not None and places <= MAX_DECIMALS and code not in _ISO_FUNDS
)


def _unsupported_reason(code: str) -> str:
    places = _ISO_MINOR_UNITS[code]
    if code in _ISO_FUNDS:
        return "it is a fund code (a unit of account), not a currency to invoice in"
    if places is None:
        return "it has no minor unit (a metal or testing code)"
    return f"it has {places} decimals, more than amounts are stored with ({MAX_DECIMALS})"


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit, as ISO 4217 gives it (EUR 2, JPY 0,
    KWD 3). An unknown code, a fund, a metal or a currency of four decimals is refused."""
    code = currency.upper() if isinstance(currency, str) else ""
    if code not in _ISO_MINOR_UNITS:
        raise MoneyError(f"Not an ISO 4217 currency code: {currency!r}")
    if code not in SUPPORTED:
        raise MoneyError(f"{code} is not a supported currency: {_unsupported_reason(code)}.")
    return _ISO_MINOR_UNITS[code]  # type: ignore[return-value]


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise MoneyError("Money must never be a float; pass a Decimal, int or str.")
    if isinstance(value, bool):
        raise MoneyError("Not an amount: a boolean.")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"Not an amount: {value!r}") from exc
    if not result.is_finite():
        raise MoneyError(f"Not an amount: {value!r}")
    return result


def round_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half up to the currency's minor unit: 2.345 EUR -> 2.35, 12.5 JPY -> 13."""
    return to_decimal(amount).quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def has_places_of(amount: Decimal | int | str, currency: str) -> bool:
    """Whether the amount is written in the currency's minor unit (12.5 JPY and 1.005 EUR are
    not). Raises MoneyError for a currency that is not supported."""
    value = to_decimal(amount)
    return value == round_money(value, currency)


def to_minor_units(amount: Decimal | int | str, currency: str) -> int:
    """12.34 EUR -> 1234, 1500 JPY -> 1500. Refuses amounts finer than the minor unit."""
    value = to_decimal(amount)
    if value != round_money(value, currency):
        raise MoneyError(f"{value} {currency} has more decimals than the currency allows.")
    return int(value.scaleb(exponent(currency)))


def from_minor_units(minor: int, currency: str) -> Decimal:
    """1234 EUR -> Decimal('12.34'), 1500 JPY -> Decimal('1500')."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError(f"Minor units must be an int, not {type(minor).__name__}.")
    return Decimal(minor).scaleb(-exponent(currency)).quantize(_quantum(currency))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; arithmetic across currencies is refused."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", self.currency.upper())
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError(f"Cannot combine {self.currency} with {other!r}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    def minor_units(self) -> int:
        return to_minor_units(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{round_money(self.amount, self.currency):,} {self.currency}"


def money_text(amount: Decimal | int | str, currency: str, *, grouped: bool = False) -> str:
    """The amount as text with its currency's decimals and no more ("4500.00" for GBP, "800"
    for JPY, "97.217" for KWD), as webhooks, audit records and messages show it: the columns
    hold three decimals for every currency, so a value read back is 4500.000 GBP."""
    rounded = round_money(amount, currency)
    return f"{rounded:,}" if grouped else str(rounded)


def allocate(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """Split ``total`` (already rounded to the currency) over ``weights`` in proportion, by the
    largest-remainder method: every share is whole minor units and the shares sum to ``total``
    exactly. Ties go to the earlier weight; zero total weight gives every share zero (a
    non-zero total then cannot be split and is refused)."""
    exp = exponent(currency)
    units = int(to_decimal(total).scaleb(exp))
    if Decimal(units) != to_decimal(total).scaleb(exp):
        raise MoneyError(f"{total} {currency} has more decimals than the currency allows.")
    weight = sum(weights, Decimal(0))
    if not weight:
        if units:
            raise MoneyError("Cannot allocate an amount over weights that sum to zero.")
        return [from_minor_units(0, currency) for _ in weights]
    exact = [Decimal(units) * w / weight for w in weights]
    floors = [int(x.to_integral_value(rounding="ROUND_FLOOR")) for x in exact]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [from_minor_units(n, currency) for n in floors]
