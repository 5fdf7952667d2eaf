"""Money: ``Decimal`` amounts with a currency, one rounding rule, one minor-unit conversion.

Rounding is ROUND_HALF_UP to the currency's minor unit, everywhere: invoices, tax, ledger
postings. Conversion to and from integer minor units (Stripe's amounts) happens only here.
Floats are refused outright: a float has already lost the cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not 1/100. Everything else has two decimals.
_ZERO_DECIMAL = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_THREE_DECIMAL = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
_EXPONENTS: dict[str, int] = {**dict.fromkeys(_ZERO_DECIMAL, 0), **dict.fromkeys(_THREE_DECIMAL, 3)}


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise MoneyError(f"Not an ISO 4217 currency code: {currency!r}")
    return _EXPONENTS.get(code, 2)


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
