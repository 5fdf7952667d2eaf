"""API authentication, scopes, throttling and pagination, named in REST_FRAMEWORK settings.

Kept apart from psa.kernel.api: DRF imports these classes while it builds APIView, so this module
must not import rest_framework.views itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, pagination, permissions, throttling

from psa.kernel.models import ApiToken
from psa.kernel.services import api_token_authenticate


class TokenAuthScheme(OpenApiAuthenticationExtension):
    target_class = "psa.kernel.api_auth.TokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, `psa_…`, with the scopes the call needs.",
        }


class StrictPageSize:
    """A ``page_size`` that is not a whole number from 1 to ``max_page_size`` is a 400 naming
    it (DRF would silently use the default or the maximum)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Any) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return super().get_page_size(request)  # type: ignore[misc]


class Pagination(StrictPageSize, pagination.PageNumberPagination):
    pass


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer psa_…`` — a personal API token acting as its user."""

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        token = api_token_authenticate(header[len(self.keyword) + 1 :].strip())
        if token is None:
            raise exceptions.AuthenticationFailed("The API token is invalid, expired or revoked.")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


def token_scope_allows(request: Any, view: Any) -> bool:
    """Session users are limited by their roles only; a token also by its scopes.

    A view names its area (``api_area = "ledger"``): reading needs ``ledger:read`` or
    ``ledger:write``, writing needs ``ledger:write``. A view may instead list the exact scopes
    it accepts (``api_scopes = ("leads:create", "crm:write")``). A view naming neither is closed
    to tokens.
    """
    token = getattr(request, "auth", None)
    if not isinstance(token, ApiToken):
        return True
    held = set(token.scopes)
    accepted = getattr(view, "api_scopes", None)
    if accepted:
        return bool(held & set(accepted))
    area = getattr(view, "api_area", None)
    if area is None:
        return False
    if request.method in permissions.SAFE_METHODS:
        return bool(held & {f"{area}:read", f"{area}:write"})
    return f"{area}:write" in held


class TokenScope(permissions.BasePermission):
    message = "The API token does not have the scope this needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        return token_scope_allows(request, view)


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Requests per token (or per signed-in user), shared by every web worker via Redis."""

    scope = "api"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
