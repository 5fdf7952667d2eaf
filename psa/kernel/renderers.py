"""The API's JSON renderer: money as strings, never floats.

A module of its own because DRF loads it from the settings while ``rest_framework.views`` is
still being imported: it must not import DRF's views itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import renderers
from rest_framework.utils import encoders


class MoneySafeEncoder(encoders.JSONEncoder):
    """DRF's encoder turns a bare Decimal into a float; money must never be a float."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return str(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = MoneySafeEncoder
