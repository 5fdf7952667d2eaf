"""Amounts over the API: each shown with its own currency's decimals (KWD 3, EUR 2, JPY 0)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from psa.kernel.money import MAX_DECIMALS, MoneyError, round_money


class MoneyField(serializers.DecimalField):
    """A money amount. Output: rounded to the currency's minor unit, read from the object
    (``currency``, a dotted path such as ``"invoice.currency"``) or, for rows that carry none,
    from the serializer's context (``context["currency"]``). Input: up to MAX_DECIMALS
    decimals; the service checks the amount against its currency's minor unit, naming the
    field (the currency is often the invoice's or the project's, known only there)."""

    def __init__(self, *, currency: str = "currency", **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 21)
        kwargs.setdefault("decimal_places", MAX_DECIMALS)
        self.currency_path = currency
        super().__init__(**kwargs)

    def _currency_of(self, instance: Any) -> str | None:
        value = instance
        for part in self.currency_path.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                break
        return value if isinstance(value, str) else self.context.get("currency")

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return None if value is None else (value, self._currency_of(instance))

    def to_representation(self, value: Any) -> Any:
        amount, currency = value if isinstance(value, tuple) else (value, None)
        if currency:
            try:
                amount = round_money(Decimal(amount), currency)
            except MoneyError:
                pass
            else:
                as_string = getattr(self, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
                return str(amount) if as_string else amount
        return super().to_representation(amount)
