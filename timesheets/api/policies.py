"""Approval policies: the rules under which a submitted week approves itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.models import Customer
from projects.selectors import project_list_visible_to
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    ETagDetailView,
    ModelSerializer,
    Serializer,
    UpdatedSinceFilterSet,
    if_match_schema,
)
from timesheets import selectors, services
from timesheets.api.common import Approvers
from timesheets.models import ApprovalPolicy


class PolicySerializer(ModelSerializer):
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    legal_entity = serializers.CharField(
        source="legal_entity.code",
        default=None,
        allow_null=True,
        help_text="Set on a legal entity's default policy; its overrides state null to inherit.",
    )

    class Meta:
        model = ApprovalPolicy
        fields = ["id", "legal_entity", "project", "customer", "enabled", "max_hours_per_day",
                  "max_hours_per_week", "within_capacity", "note_required",
                  "project_must_be_active", "within_budget", "allow_weekends", "allow_holidays",
                  "review_first_weeks", "updated_at"]  # fmt: skip
        read_only_fields = fields


class PolicyChangeIn(Serializer):
    enabled = serializers.BooleanField(required=False, allow_null=True)
    max_hours_per_day = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    max_hours_per_week = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    note_required = serializers.BooleanField(required=False, allow_null=True)
    project_must_be_active = serializers.BooleanField(required=False, allow_null=True)
    within_budget = serializers.BooleanField(required=False, allow_null=True)
    allow_weekends = serializers.BooleanField(required=False, allow_null=True)
    allow_holidays = serializers.BooleanField(required=False, allow_null=True)
    within_capacity = serializers.BooleanField(required=False, allow_null=True)
    review_first_weeks = serializers.IntegerField(
        min_value=0, max_value=52, required=False, allow_null=True
    )


class PolicyCreateIn(PolicyChangeIn):
    project = serializers.SlugField(max_length=30, required=False, help_text="A project's code.")
    customer = serializers.IntegerField(min_value=1, required=False, help_text="A customer's id.")


class PolicyFilter(UpdatedSinceFilterSet):
    project = django_filters.CharFilter(field_name="project__code")
    customer = django_filters.NumberFilter(field_name="customer_id")
    ordering = django_filters.OrderingFilter(fields=("updated_at", "id"))

    class Meta:
        model = ApprovalPolicy
        fields = ["enabled"]


class PolicyListCreate(generics.ListAPIView):
    """Approval policies: finance sees and sets all; a manager those of their projects."""

    permission_classes = [Approvers]
    serializer_class = PolicySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = PolicyFilter
    api_area = "timesheets"

    def get_queryset(self):
        return (
            selectors.approval_policy_visible_to(self.request.user)
            .select_related("project")
            .order_by("id")
        )

    @extend_schema(request=PolicyCreateIn, responses={201: PolicySerializer})
    def post(self, request: Request) -> Response:
        data = PolicyCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        project = customer = None
        if v.get("project"):
            project = project_list_visible_to(request.user).filter(code=v.pop("project")).first()
            if project is None:
                raise errors.NotFound("No such project.", fields={"project": "Not found."})
        if v.get("customer"):
            customer = Customer.objects.filter(pk=v.pop("customer")).first()
            if customer is None:
                raise errors.NotFound("No such customer.", fields={"customer": "Not found."})
        v.pop("project", None), v.pop("customer", None)
        policy = services.approval_policy_create(
            actor=request.user, project=project, customer=customer, **v
        )
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetail(ETagDetailView):
    permission_classes = [Approvers]
    serializer_class = PolicySerializer
    change_serializer = PolicyChangeIn
    api_area = "timesheets"

    def fetch(self, request: Request, **kwargs: Any) -> ApprovalPolicy:
        policy = (
            selectors.approval_policy_visible_to(request.user)
            .select_related("project", "customer")
            .filter(pk=kwargs["pk"])
            .first()
        )
        if policy is None:
            raise errors.NotFound("No such approval policy.")
        return policy

    def change(
        self, obj: ApprovalPolicy, *, actor: Any, expected_etag: str | None, data: dict
    ) -> ApprovalPolicy:
        return services.approval_policy_update(
            actor=actor, policy=obj, expected_etag=expected_etag, **data
        )

    @if_match_schema(responses={204: None})
    def delete(self, request: Request, **kwargs: Any) -> Response:
        policy = self.fetch(request, **kwargs)
        services.approval_policy_delete(
            actor=request.user, policy=policy, expected_etag=self.expected_etag
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
