"""REST framework glue shared by every app's API: the one error shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, permissions, renderers, status
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import exception_handler as drf_exception_handler

from psa import errors
from psa.api_auth import TokenScope, token_scope_allows
from psa.roles import Role, has_role


class MoneySafeEncoder(encoders.JSONEncoder):
    """DRF's encoder turns a bare Decimal into a float; money must never be a float."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return str(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = MoneySafeEncoder


def role_permission(*roles: str) -> type[permissions.BasePermission]:
    """A DRF permission class granting access to holders of any of ``roles``.

    The API's twin of ``psa.roles.role_required``: pages and API share ``has_role``. Token
    scopes are checked too (``token_scope_allows``).
    """
    names = ", ".join(Role(r).label for r in roles)

    class HasRole(permissions.BasePermission):
        message = f"This needs one of these roles: {names}."

        def has_permission(self, request: Any, view: Any) -> bool:
            if not token_scope_allows(request, view):
                self.message = TokenScope.message
                return False
            return has_role(request.user, *roles)

    HasRole.__name__ = f"HasRole_{'_'.join(roles)}"
    return HasRole


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" else str(key)
            if isinstance(value, dict):
                for sub, msgs in _fields(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list):
                flat: list[str] = []
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        for sub, msgs in _fields(item).items():
                            out[f"{name}[{i}].{sub}"] = msgs
                    else:
                        flat.append(str(item))
                if flat:
                    out[name] = flat
            else:
                out[name] = [str(value)]
        return out
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as ``{"error": {"code", "message", "fields"}}``."""
    if isinstance(exc, errors.DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it be a 500 and reach the logs
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail) if isinstance(exc.detail, dict) else {}
        first = next(iter(fields.items()), None)
        message = f"{first[0]}: {first[1][0]}" if first else "; ".join(map(str, exc.detail))
        body = {"code": "validation_failed", "message": message, "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        body = {"code": str(code), "message": str(detail), "fields": {}}
    response.data = {"error": body}
    return response
