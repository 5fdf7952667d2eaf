"""REST framework glue shared by every app's API: the one error shape."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, renderers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import exception_handler as drf_exception_handler

from psa.kernel import errors
from psa.kernel.api_auth import TokenScope, token_scope_allows
from psa.kernel.roles import Role, has_role


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

    The API's twin of ``psa.kernel.roles.role_required``: pages and API share ``has_role``. Token
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


# --- shared pieces of every app's API -------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """The one error shape: ``{"error": {"code", "message", "fields"}}``."""

    error = ErrorBodySerializer()


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


# Every list: django-filter FilterSets (with an ``ordering`` whitelist inside the FilterSet,
# so an unknown ordering is a 400 rather than silently ignored).
FILTER_BACKENDS = [DjangoFilterBackend]


class SlugRelated(serializers.SlugRelatedField):
    """A SlugRelatedField that refuses a NUL byte (PostgreSQL cannot even compare one)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO date-time filter that queries in UTC: PostgreSQL refuses offsets beyond ±15:59,
    which ISO 8601 allows; an instant outside the representable range is a 400."""

    def filter(self, qs: Any, value: Any) -> Any:
        if value is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError:
                raise exceptions.ValidationError({self.field_name: ["Out of range."]}) from None
        return super().filter(qs, value)


class UpdatedSinceFilterSet(django_filters.FilterSet):
    """Base of every FilterSet: ``updated_since`` for incremental sync."""

    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only rows changed at or after this ISO date-time (incremental sync).",
    )


def etag_of(obj: Any) -> str:
    """A strong validator of an object: its identity and the moment it last changed.

    ``updated_at`` is ``auto_now``: every save (each service writes it in ``update_fields``)
    moves it, so a changed object always has a new ETag.
    """
    stamp = obj.updated_at.isoformat() if obj.updated_at else ""
    raw = f"{obj._meta.label}:{obj.pk}:{stamp}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the version you read; 412 if the object changed since.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    location=OpenApiParameter.HEADER,
    response=[200],
    description="The version of the object; send it back in If-Match to update it safely.",
)


class ETagMixin:
    """ETag on detail responses, ``If-Match`` on changes (412 on a lost update).

    ``locked(obj)`` re-reads the row ``FOR UPDATE`` inside the caller's transaction and
    compares the ETag there, so no other writer can slip in between the check and the write.
    """

    request: Request

    def with_etag(self, response: Response, obj: Any) -> Response:
        response["ETag"] = etag_of(obj)
        return response

    def if_match(self, obj: Any) -> None:
        header = self.request.headers.get("If-Match", "").strip()
        if not header or header == "*":
            return
        wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
        if etag_of(obj) not in wanted:
            raise errors.PreconditionFailed(
                "The object changed since you read it; fetch it again and retry.",
                fields={"If-Match": "Does not match the current ETag."},
            )

    def locked(self, obj: Any) -> Any:
        """The row again, locked; call inside ``transaction.atomic()``."""
        fresh = type(obj).objects.select_for_update().get(pk=obj.pk)
        self.if_match(fresh)
        return fresh


def etag_detail_schema(**kwargs: Any) -> Any:
    """extend_schema for a detail GET: documents the ETag response header."""
    return extend_schema(parameters=[ETAG, *kwargs.pop("parameters", [])], **kwargs)


def if_match_schema(**kwargs: Any) -> Any:
    """extend_schema for PUT/PATCH/DELETE: documents If-Match, the ETag and the 412."""
    responses = kwargs.pop("responses", {})
    if not isinstance(responses, dict):
        responses = {200: responses}
    return extend_schema(
        parameters=[IF_MATCH, ETAG, *kwargs.pop("parameters", [])],
        responses={**responses, 412: ErrorSerializer},
        **kwargs,
    )
