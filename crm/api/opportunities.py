"""Opportunities: create, edit, win (customer and project), lose."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api._common import ReasonIn, Sales, TemplateField, User, people
from crm.models import (
    Opportunity,
    OpportunityStage,
)
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    ETagDetailView,
    ModelSerializer,
    Serializer,
    SlugRelated,
    UpdatedSinceFilterSet,
)
from psa.kernel.api_money import MoneyField
from psa.kernel.roles import Role

# --- opportunities ------------------------------------------------------------------------


class OpportunitySerializer(ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code", read_only=True)
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)
    # Both are projects' rows pointing at the opportunity, read through reverse relations
    # (a missing one reads as None).
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    project_template = serializers.CharField(
        source="plan.template.code", default=None, allow_null=True
    )
    value = MoneyField(read_only=True)

    class Meta:
        model = Opportunity
        fields = ["id", "legal_entity", "customer", "lead", "name", "stage", "value", "currency",
                  "probability", "expected_close", "owner", "lost_reason", "project_template",
                  "project", "won_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


# Named OpenStageEnum in the schema (settings ENUM_NAME_OVERRIDES).
OPEN_STAGES = [(s.value, s.label) for s in OpportunityStage if s.value not in ("won", "lost")]


class OpportunityChangeIn(Serializer):
    name = serializers.CharField(max_length=200, required=False)
    stage = serializers.ChoiceField(choices=OPEN_STAGES, required=False)
    value = MoneyField(max_digits=15, min_value=0, required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    expected_close = DateField(required=False, allow_null=True)
    owner = SlugRelated(slug_field="email", queryset=people(), required=False, allow_null=True)
    project_template = TemplateField(required=False, allow_null=True)


class OpportunityCreateIn(OpportunityChangeIn):
    name = serializers.CharField(max_length=200)
    customer = serializers.IntegerField(min_value=1, required=False)
    lead = serializers.IntegerField(min_value=1, required=False)


class OpportunityWinIn(Serializer):
    template = TemplateField(
        required=False,
        allow_null=True,
        help_text="Default: the opportunity's template.",
    )
    project_code = serializers.SlugField(max_length=30)
    project_name = serializers.CharField(max_length=200, required=False, default="")
    start_date = DateField()
    manager = SlugRelated(
        slug_field="email",
        queryset=User.objects.filter(is_active=True, groups__name=Role.PROJECT_MANAGER),
    )


class OpportunityFilter(UpdatedSinceFilterSet):
    expected_close_after = DateFilter("expected_close", lookup_expr="gte")
    expected_close_before = DateFilter("expected_close", lookup_expr="lte")
    # An id, not a choice: a customer you cannot see (or that does not exist) lists nothing.
    customer = django_filters.NumberFilter(field_name="customer_id")
    ordering = django_filters.OrderingFilter(
        fields=("expected_close", "value", "created_at", "updated_at", "id")
    )

    class Meta:
        model = Opportunity
        fields = ["stage"]


class OpportunityListCreate(generics.ListAPIView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = OpportunityFilter
    api_area = "crm"

    def get_queryset(self):
        return selectors.opportunity_list_visible_to(self.request.user).order_by("-id")

    @extend_schema(request=OpportunityCreateIn, responses={201: OpportunitySerializer})
    def post(self, request: Request) -> Response:
        data = OpportunityCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer_id, lead_id = fields.pop("customer", None), fields.pop("lead", None)
        customer = (
            selectors.customer_get_for_user(request.user, customer_id) if customer_id else None
        )
        lead = selectors.lead_get_for_user(request.user, lead_id) if lead_id else None
        opp = services.opportunity_create(
            actor=request.user, customer=customer, lead=lead, **fields
        )
        opp = selectors.opportunity_get_for_user(request.user, opp.pk)
        return Response(OpportunitySerializer(opp).data, status=status.HTTP_201_CREATED)


class OpportunityDetail(ETagDetailView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    change_serializer = OpportunityChangeIn
    api_area = "crm"

    def fetch(self, request: Request, **kwargs: Any) -> Opportunity:
        return selectors.opportunity_get_for_user(request.user, kwargs["pk"])

    def change(self, obj: Opportunity, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return services.opportunity_update(
            opportunity=obj, actor=actor, expected_etag=expected_etag, **data
        )


class OpportunityWin(generics.GenericAPIView):
    """Won: creates the customer (from the lead if needed) and the project from a template."""

    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    api_area = "crm"

    @extend_schema(request=OpportunityWinIn, responses=OpportunitySerializer)
    def post(self, request: Request, pk: int) -> Response:
        opp = selectors.opportunity_get_for_user(request.user, pk)
        data = OpportunityWinIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.opportunity_win(opportunity=opp, actor=request.user, **data.validated_data)
        opp = selectors.opportunity_get_for_user(request.user, pk)
        return Response(OpportunitySerializer(opp).data)


class OpportunityLose(generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    api_area = "crm"

    @extend_schema(request=ReasonIn, responses=OpportunitySerializer)
    def post(self, request: Request, pk: int) -> Response:
        opp = selectors.opportunity_get_for_user(request.user, pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        opp = services.opportunity_lose(
            opportunity=opp, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(OpportunitySerializer(opp).data)
