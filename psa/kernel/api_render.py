"""The API's JSON renderer, apart from ``psa.kernel.api``: REST framework imports it while
``rest_framework.views`` is still loading (DEFAULT_RENDERER_CLASSES), so, like
``api_auth``, it must not import ``rest_framework.views`` (or ``generics``) itself."""

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
