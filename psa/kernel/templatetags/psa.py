"""Template filters for numbers people read: hours and money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.safestring import mark_safe

from psa.kernel.money import MoneyError, money_text, round_money, to_decimal

register = template.Library()


@register.filter
def hours(value: object) -> str:
    """7.50 -> "7.5", 8.00 -> "8", 0 -> "0", None -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def money(value: object, currency: str) -> str:
    """1234.5, "EUR" -> "1,234.50 EUR", rounded as the books round."""
    if value is None or value == "":
        return "—"
    try:
        return f"{round_money(str(value), currency):,} {currency}"
    except MoneyError:
        return str(value)


@register.filter
def amount(value: object, currency: str = "") -> str:
    """An amount for a form field, without grouping or currency: "12.34" for 12.340 EUR,
    "1500" for JPY, "12.345" for KWD. Without a currency (a limit that is in none), the third
    decimal the column keeps is shown only when it is not zero."""
    if value is None or value == "":
        return ""
    try:
        if currency:
            return money_text(str(value), currency)
        number = to_decimal(str(value))
    except MoneyError:
        return str(value)
    cents = number.quantize(Decimal("0.01"))
    return str(cents if cents == number else number)


@register.filter
def get_item(mapping: object, key: str) -> object:
    """``{{ row|get_item:"1-30" }}``: dictionary keys that are not identifiers, or an attribute
    named by a variable (``{{ policy|get_item:name }}``)."""
    try:
        return mapping[key]  # type: ignore[index]
    except (KeyError, IndexError):
        return ""
    except TypeError:
        return getattr(mapping, str(key), "") if mapping is not None else ""


_CSS_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_")


@register.filter
def css_string(value: object) -> str:
    """``value`` as the body of a double-quoted CSS string: every character but letters,
    digits and plain punctuation is a CSS escape (``\\0000A0 ``), so a quote, a backslash or a
    newline in user data can never end the string and inject CSS (``url(…)`` fetches)."""
    text = "" if value is None else str(value)
    return mark_safe(  # noqa: S308 - every character outside _CSS_PLAIN is escaped above
        "".join(c if c in _CSS_PLAIN else f"\\{ord(c):06X}" for c in text)
    )
