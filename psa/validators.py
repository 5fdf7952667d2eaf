"""Validators and constraint helpers shared by the apps' models."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")
country_code = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 code, e.g. GB.")


def currency_check(field: str, name: str) -> models.CheckConstraint:
    """The database refuses anything but three capital letters in a currency column."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__regex": r"^[A-Z]{3}$"}), name=name
    )
