"""Leads in and out: the pipeline's API (managers, finance and admins; CRM sync)."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api._common import ReasonIn, Sales
from crm.models import (
    Lead,
    LeadSource,
)
from ledger.models import LegalEntity
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateTimeFilter,
    ModelSerializer,
    Serializer,
    SlugRelated,
    UpdatedSinceFilterSet,
)


class LeadSerializer(ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code")
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)

    class Meta:
        model = Lead
        fields = ["id", "legal_entity", "name", "company", "email", "phone", "website",
                  "domain", "message", "source", "status", "disqualify_reason", "owner",
                  "customer_id", "contact_id", "submissions", "created_at",
                  "updated_at"]  # fmt: skip


class LeadCreateSerializer(Serializer):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    company = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    message = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class LeadCreateResult(Serializer):
    created = serializers.BooleanField()
    matched = serializers.CharField()
    lead = LeadSerializer()


class LeadFilter(UpdatedSinceFilterSet):
    created_after = DateTimeFilter("created_at", lookup_expr="gte")
    created_before = DateTimeFilter("created_at", lookup_expr="lt")
    customer = django_filters.NumberFilter(field_name="customer_id")
    owner = django_filters.CharFilter(field_name="owner__email", lookup_expr="iexact")
    ordering = django_filters.OrderingFilter(fields=("created_at", "updated_at", "name", "id"))

    class Meta:
        model = Lead
        fields = ["status", "source"]


class LeadListCreate(generics.ListAPIView):
    permission_classes = [Sales]
    serializer_class = LeadSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = LeadFilter
    api_area = "crm"

    @property
    def api_scopes(self) -> tuple[str, ...] | None:
        # A website's token holds only "leads:create": it may post leads, never read them.
        if self.request.method == "POST":
            return ("crm:write", "leads:create")
        return None

    def get_queryset(self):
        return selectors.lead_list_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request=LeadCreateSerializer, responses={201: LeadCreateResult, 200: LeadCreateResult}
    )
    def post(self, request: Request) -> Response:
        """Create a lead; a repeat of an open lead's e-mail attaches to it (200, created=false)."""
        data = LeadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        intake = services.lead_create(
            source=LeadSource.API, actor=request.user, owner=request.user, **data.validated_data
        )
        body = {"created": intake.created, "matched": intake.matched, "lead": intake.lead}
        code = status.HTTP_201_CREATED if intake.created else status.HTTP_200_OK
        return Response(LeadCreateResult(body).data, status=code)


class LeadDetail(generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = LeadSerializer
    api_area = "crm"

    def get(self, request: Request, pk: int) -> Response:
        return Response(LeadSerializer(selectors.lead_get_for_user(request.user, pk)).data)


class LeadAction(generics.GenericAPIView):
    """Base of the lead transitions: qualify, convert (customer + contact), disqualify."""

    permission_classes = [Sales]
    serializer_class = LeadSerializer
    api_area = "crm"

    def act(self, lead: Lead, data: dict[str, Any]) -> Lead:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        lead = self.act(selectors.lead_get_for_user(request.user, pk), request.data)
        return Response(LeadSerializer(lead).data)


@extend_schema(request=None, responses=LeadSerializer)
class LeadQualify(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        return services.lead_qualify(lead=lead, actor=self.request.user)


@extend_schema(request=None, responses=LeadSerializer)
class LeadConvert(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        return services.lead_convert(lead=lead, actor=self.request.user)


@extend_schema(request=ReasonIn, responses=LeadSerializer)
class LeadDisqualify(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        body = ReasonIn(data=data)
        body.is_valid(raise_exception=True)
        return services.lead_disqualify(
            lead=lead, actor=self.request.user, reason=body.validated_data["reason"]
        )
