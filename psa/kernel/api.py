"""REST framework glue shared by every app's API: the one error shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from psa.kernel import errors
from psa.kernel.api_auth import TokenScope, token_scope_allows

# Re-exported: every app's API builds its serializers, date fields and filters on these.
from psa.kernel.api_fields import BooleanFilter as BooleanFilter
from psa.kernel.api_fields import DateField as DateField
from psa.kernel.api_fields import DateFilter as DateFilter
from psa.kernel.api_fields import DateTimeField as DateTimeField
from psa.kernel.api_fields import DateTimeFilter as DateTimeFilter
from psa.kernel.api_fields import FilterSet as FilterSet
from psa.kernel.api_fields import ModelSerializer as ModelSerializer
from psa.kernel.api_fields import OrderingGuard as OrderingGuard
from psa.kernel.api_fields import QuerySerializer as QuerySerializer
from psa.kernel.api_fields import Serializer as Serializer
from psa.kernel.api_schema import AutoSchema
from psa.kernel.etag import etag_of
from psa.kernel.middleware import TOO_LARGE

# Re-exported: billing.api renders with it next to its PDF renderer.
from psa.kernel.renderers import JSONRenderer as JSONRenderer
from psa.kernel.roles import Role, has_role


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
            # A nested list's errors come keyed by item index: ``lines[1].account``.
            name = f"[{key}]" if isinstance(key, int) else str(key)
            if isinstance(value, dict):
                for sub, msgs in _fields(value).items():
                    out[name + (sub if sub.startswith("[") else f".{sub}")] = msgs
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


def _as_json(context: dict[str, Any]) -> None:
    """Errors are JSON whatever the client accepted: a 404 of the PDF endpoint must not be
    labelled ``application/pdf``."""
    request = context.get("request")
    if request is not None and not isinstance(
        getattr(request, "accepted_renderer", None), JSONRenderer
    ):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as ``{"error": {"code", "message", "fields"}}``, served as JSON."""
    _as_json(context)
    if isinstance(exc, errors.DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(TOO_LARGE, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
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
# so an unknown ordering is a 400 rather than silently ignored), and the guard that refuses
# ``ordering`` on lists without one (also the default: REST_FRAMEWORK settings).
FILTER_BACKENDS = [DjangoFilterBackend, OrderingGuard]


class SlugRelated(serializers.SlugRelatedField):
    """A SlugRelatedField that refuses a NUL byte (PostgreSQL cannot even compare one)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


# The old names of the date-time filter: the policy's DateTimeFilter (UTC, within range).
UtcDateTimeFilter = DateTimeFilter


class UpdatedSinceFilterSet(FilterSet):
    """Base of every FilterSet of rows that change: ``updated_since`` for incremental sync."""

    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only rows changed at or after this ISO date-time (incremental sync).",
    )


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
    """ETag on detail responses; the If-Match header handed to the service that changes the
    object (``psa.kernel.etag.etag_require`` on the row it locked)."""

    request: Request

    def with_etag(self, response: Response, obj: Any) -> Response:
        response["ETag"] = etag_of(obj)
        return response

    @property
    def expected_etag(self) -> str | None:
        return self.request.headers.get("If-Match")


class ETagDetailSchema(AutoSchema):
    """The schema of an ETagDetailView: PATCH takes ``change_serializer``; If-Match, the ETag
    header and the 412 documented where they apply."""

    def get_request_serializer(self) -> Any:
        if self.method in ("PATCH", "PUT") and getattr(self.view, "change_serializer", None):
            return self.view.change_serializer
        return super().get_request_serializer()

    def get_override_parameters(self) -> list[Any]:
        extra = [ETAG] if self.method == "GET" else [IF_MATCH, ETAG]
        return [*super().get_override_parameters(), *extra]

    def get_response_serializers(self) -> Any:
        serializer = super().get_response_serializers()
        if self.method == "GET":
            return serializer
        if self.method == "DELETE":
            return {204: None, 412: ErrorSerializer}
        return {200: serializer, 412: ErrorSerializer}


class ETagDetailView(ETagMixin, generics.GenericAPIView):
    """One object of a resource: GET with its ETag, PATCH with If-Match (412 on a lost
    update), DELETE when the resource has one. The one detail view every area uses.

    A subclass sets ``serializer_class`` (what is returned) and ``change_serializer`` (what
    PATCH takes) and implements ``fetch`` (a selector scoped to the caller) and ``change``
    (calls the service, which locks the row and checks ``expected_etag`` itself); ``remove``
    likewise for DELETE. Services own their transactions: this view opens none.
    """

    change_serializer: type[serializers.Serializer] | None = None
    schema = ETagDetailSchema()

    def fetch(self, request: Request, **kwargs: Any) -> Any:
        raise NotImplementedError

    def change(self, obj: Any, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        raise NotImplementedError

    def respond(self, obj: Any) -> Response:
        return self.with_etag(Response(self.get_serializer(obj).data), obj)

    def get(self, request: Request, **kwargs: Any) -> Response:
        return self.respond(self.fetch(request, **kwargs))

    def patch(self, request: Request, **kwargs: Any) -> Response:
        obj = self.fetch(request, **kwargs)
        assert self.change_serializer is not None, "an ETagDetailView with PATCH names its input"
        data = self.change_serializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        self.change(
            obj, actor=request.user, expected_etag=self.expected_etag, data=data.validated_data
        )
        # Read again through the scoped selector: annotations and related rows as on GET.
        return self.respond(self.fetch(request, **kwargs))


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
