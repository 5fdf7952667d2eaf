"""REST API of the caller's own personal API tokens: list them, revoke one (token area
"tokens"). Tokens are created on the account page, where the plaintext is shown once."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.kernel import errors
from psa.kernel.api import ModelSerializer, Serializer
from psa.kernel.models import ApiToken
from psa.kernel.services import api_token_revoke


class TokenSerializer(ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at",
                  "revoked_at"]  # fmt: skip
        read_only_fields = fields


class RevokeIn(Serializer):
    """Revoking takes no body: any field is refused by name."""


class _Mine:
    api_area = "tokens"
    serializer_class = TokenSerializer
    request: Request

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def mine(self, pk: int) -> ApiToken:
        token = self.get_queryset().filter(pk=pk).first()
        if token is None:
            raise errors.NotFound("No such token of yours.")
        return token


class TokenList(_Mine, generics.ListAPIView):
    """Your personal API tokens, newest first (revoked and expired ones included, with
    ``revoked_at`` and ``expires_at``). The token itself is never shown again."""


class TokenDetail(_Mine, generics.GenericAPIView):
    """One of your tokens; DELETE revokes it (it answers 401 from the next request on)."""

    def get(self, request: Request, pk: int) -> Response:
        return Response(TokenSerializer(self.mine(pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        api_token_revoke(token=self.mine(pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevoke(_Mine, generics.GenericAPIView):
    """Revoke one of your tokens (the same as DELETE on it); answers the revoked token.
    Revoking a revoked token changes nothing."""

    @extend_schema(request=None, responses={200: TokenSerializer})
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        RevokeIn(data=request.data or {}).is_valid(raise_exception=True)
        token = api_token_revoke(token=self.mine(pk), actor=request.user)
        return Response(TokenSerializer(token).data)


urlpatterns = [
    path("", TokenList.as_view(), name="api-tokens"),
    path("<int:pk>/", TokenDetail.as_view(), name="api-token"),
    path("<int:pk>/revoke/", TokenRevoke.as_view(), name="api-token-revoke"),
]
