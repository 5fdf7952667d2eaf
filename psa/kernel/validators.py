"""Validators and constraint helpers shared by the apps' models."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from psa.kernel import errors
from psa.kernel.documents import DocumentRefused, image_check

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")
country_code = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 code, e.g. GB.")


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
