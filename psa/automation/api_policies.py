"""REST API of automation policies: each legal entity's (complete) and the customers' and
projects' overrides (null inherits). Finance and admins, as the automation page; token area
"automation". Writes go through psa.automation.policies, as on the page."""

from __future__ import annotations

from typing import Any

import django_filters
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project
from psa.automation.models import AutomationPolicy, InvoicingCalendar
from psa.automation.policies import SETTINGS, automation_policy_delete, automation_policy_set
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    ETagDetailView,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
    role_permission,
)
from psa.kernel.money import MAX_DECIMALS
from psa.kernel.roles import Role

Operators = role_permission(Role.FINANCE, Role.ADMIN)
NULL_HELP = "null: inherit (an override) or the default (the entity's policy)."


class AutomationPolicySerializer(ModelSerializer):
    legal_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    project = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    scope = serializers.SerializerMethodField()

    class Meta:
        model = AutomationPolicy
        fields = ["id", "scope", "legal_entity", "customer", "project", *SETTINGS, "updated_at"]

    def get_scope(self, obj: AutomationPolicy) -> str:
        return "project" if obj.project_id else "customer" if obj.customer_id else "legal_entity"


def _flag() -> serializers.BooleanField:
    return serializers.BooleanField(required=False, allow_null=True, help_text=NULL_HELP)


class AutomationPolicyChangeIn(Serializer):
    auto_approve = _flag()
    release_milestones = _flag()
    invoicing = serializers.ChoiceField(
        choices=InvoicingCalendar.choices, required=False, allow_null=True, help_text=NULL_HELP
    )
    invoice_day = serializers.IntegerField(
        min_value=0, max_value=28, required=False, allow_null=True,
        help_text="Monthly: day of the month (1-28); weekly: weekday (0 = Monday).",
    )  # fmt: skip
    auto_issue = _flag()
    review_above = serializers.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, min_value=0, required=False,
        allow_null=True, help_text="Drafts above this total wait for review (null: no limit).",
    )  # fmt: skip
    auto_send = _flag()
    autopay = _flag()
    dunning = _flag()


class AutomationPolicyIn(AutomationPolicyChangeIn):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, allow_null=True,
        help_text="An override for this customer.",
    )  # fmt: skip
    project = SlugRelated(
        slug_field="code", queryset=Project.objects.all(), required=False, allow_null=True,
        help_text="An override for this project.",
    )  # fmt: skip


class AutomationPolicyFilter(FilterSet):
    legal_entity = django_filters.CharFilter(field_name="legal_entity__code")
    customer = django_filters.NumberFilter(field_name="customer_id")
    project = django_filters.CharFilter(field_name="project__code")
    scope = django_filters.ChoiceFilter(
        choices=[("legal_entity", "Legal entity"), ("customer", "Customer"),
                 ("project", "Project")],
        method="filter_scope",
    )  # fmt: skip
    ordering = django_filters.OrderingFilter(fields=("id", "updated_at"))

    class Meta:
        model = AutomationPolicy
        fields: list[str] = []

    def filter_scope(self, qs, name, value):  # type: ignore[no-untyped-def]
        if value == "project":
            return qs.filter(project__isnull=False)
        if value == "customer":
            return qs.filter(customer__isnull=False, project__isnull=True)
        return qs.filter(customer__isnull=True, project__isnull=True)


class PolicyApi:
    permission_classes = [Operators]
    api_area = "automation"
    serializer_class = AutomationPolicySerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return AutomationPolicy.objects.select_related("legal_entity", "project").order_by("id")


class PolicyList(PolicyApi, generics.ListAPIView):
    """Automation policies: each legal entity's and the customers' and projects' overrides.
    POST adds one (409 when that scope has one: PATCH it instead)."""

    filter_backends = FILTER_BACKENDS
    filterset_class = AutomationPolicyFilter

    @extend_schema(request=AutomationPolicyIn, responses={201: AutomationPolicySerializer})
    def post(self, request: Request) -> Response:
        body = AutomationPolicyIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        scope = {name: data.pop(name, None) for name in ("legal_entity", "customer", "project")}
        row = automation_policy_set(actor=request.user, values=data, create_only=True, **scope)
        row = self.get_queryset().get(pk=row.pk)
        return Response(AutomationPolicySerializer(row).data, status=status.HTTP_201_CREATED)


class PolicyDetail(PolicyApi, ETagDetailView):
    """One policy; PATCH changes the settings sent (the others keep theirs); DELETE removes an
    override (the entity's policy can be changed, not removed: 409)."""

    change_serializer = AutomationPolicyChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> AutomationPolicy:
        row = self.get_queryset().select_related("customer").filter(pk=kwargs["pk"]).first()
        if row is None:
            raise errors.NotFound("No such automation policy.")
        return row

    def change(self, obj: AutomationPolicy, *, actor: Any, expected_etag: str | None,
               data: dict) -> Any:  # fmt: skip
        current = {name: getattr(obj, name) for name in SETTINGS}
        return automation_policy_set(
            legal_entity=obj.legal_entity, customer=obj.customer, project=obj.project,
            actor=actor, values={**current, **data}, expected_etag=expected_etag,
        )  # fmt: skip

    @extend_schema(responses={204: None})
    def delete(self, request: Request, **kwargs: Any) -> Response:
        automation_policy_delete(policy=self.fetch(request, **kwargs), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("", PolicyList.as_view(), name="automation-policies"),
    path("<int:pk>/", PolicyDetail.as_view(), name="automation-policy"),
]
