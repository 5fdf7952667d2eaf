"""Validators and constraint helpers shared by the apps' models."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.db import models

from psa.kernel import errors
from psa.kernel.documents import DocumentRefused, image_check
from psa.kernel.money import MoneyError, exponent


def currency_code(value: str) -> None:
    """An ISO 4217 code of a supported currency (minor unit of 0 to 3 decimals, no fund or
    metal): ``XXQ`` and ``CLF`` are refused."""
    if not isinstance(value, str) or value != value.upper():
        raise ValidationError("Use a three-letter ISO 4217 code, e.g. EUR.", code="invalid")
    try:
        exponent(value)
    except MoneyError as exc:
        raise ValidationError(
            f"{str(exc).rstrip('.')}. Use a three-letter ISO 4217 code, e.g. EUR.", code="invalid"
        ) from exc


def country_code(value: str) -> None:
    """An ISO 3166-1 alpha-2 country code (from pycountry): ``ZZ`` is refused."""
    if (
        not isinstance(value, str)
        or len(value) != 2
        or value != value.upper()
        or pycountry.countries.get(alpha_2=value) is None
    ):
        raise ValidationError(
            f"{value!r} is not an ISO 3166 country code; use two letters, e.g. GB.",
            code="invalid",
        )


def currency_check(field: str, name: str) -> models.CheckConstraint:
    """The database refuses anything but three capital letters in a currency column."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__regex": r"^[A-Z]{3}$"}), name=name
    )


def decimal_input(value: object, name: str, *, label: str = "") -> Decimal:
    """A number a person or client typed ("12.5", "12,5", 12) as a Decimal, or ValidationFailed
    naming ``name``. Floats are refused (money is never a float)."""

    label = label or name.replace("_", " ").capitalize()
    if isinstance(value, float | bool):
        raise errors.ValidationFailed(f"{label} is not a number.", fields={name: "Not a number."})
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise errors.ValidationFailed(f"{label} is not a number.", fields={name: "Not a number."})
    return number


LOGO_MAX_PIXELS = 4_000_000


def raster_logo(upload: Any) -> None:
    """A logo is a PNG or JPEG by content, at most LOGO_MAX_PIXELS (SVG is refused: it can
    fetch URLs and embed local files when a PDF is rendered)."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        image_check(data, max_pixels=LOGO_MAX_PIXELS)
    except DocumentRefused as exc:
        raise ValidationError(str(exc), code="logo") from exc


def money_places_check(amount: Decimal, currency: str, name: str, *, label: str = "") -> None:
    """ValidationFailed naming ``name`` when the amount has more decimals than the currency's
    minor unit (12.5 JPY, 1.005 EUR), or naming ``currency`` when that is not supported."""
    label = label or name.replace("_", " ").capitalize()
    try:
        places = exponent(currency)
    except MoneyError as exc:
        raise errors.ValidationFailed(str(exc), fields={"currency": str(exc)}) from None
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        unit = f"at most {places} decimal{'s' if places != 1 else ''}" if places else "no decimals"
        raise errors.ValidationFailed(
            f"{label} has more decimals than {currency} has: {amount} (use {unit}).",
            fields={name: f"{currency} amounts have {unit}."},
        )
