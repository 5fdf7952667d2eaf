"""REST API of project templates: list, read, create (with tasks, milestones and rates).
Reading: consultants, project managers, finance; creating: project managers and finance.
Token area "projects". Mounted at /api/v1/project-templates/ (no clash with project codes)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.models import (
    BillingModel,
    ProjectTemplate,
    ServiceItem,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from projects.services.templates import project_template_create
from psa.kernel.api import (
    FILTER_BACKENDS,
    BooleanFilter,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
    role_permission,
)
from psa.kernel.money import MAX_DECIMALS
from psa.kernel.roles import Role

Members = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)
Managers = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)
AMOUNT = {"max_digits": 15, "decimal_places": MAX_DECIMALS, "min_value": 0}


class TemplateTaskSerializer(ModelSerializer):
    class Meta:
        model = TemplateTask
        fields = ["name", "billable"]


class TemplateMilestoneSerializer(ModelSerializer):
    service_item = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = TemplateMilestone
        fields = ["name", "amount", "day_offset", "service_item"]


class TemplateRateSerializer(ModelSerializer):
    class Meta:
        model = TemplateRate
        fields = ["role", "rate"]


class ProjectTemplateSerializer(ModelSerializer):
    tasks = TemplateTaskSerializer(many=True, read_only=True)
    milestones = TemplateMilestoneSerializer(many=True, read_only=True)
    rates = TemplateRateSerializer(many=True, read_only=True)

    class Meta:
        model = ProjectTemplate
        fields = ["id", "code", "name", "billing_model", "budget_hours", "budget_amount",
                  "duration_days", "active", "tasks", "milestones", "rates"]  # fmt: skip


class TemplateTaskIn(Serializer):
    name = serializers.CharField(max_length=200)
    billable = serializers.BooleanField(default=True)


class TemplateMilestoneIn(Serializer):
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(**AMOUNT)
    day_offset = serializers.IntegerField(
        min_value=0, max_value=3650, help_text="Days after the project's start date."
    )
    service_item = SlugRelated(
        slug_field="code", queryset=ServiceItem.objects.all(), required=False, allow_null=True
    )


class TemplateRateIn(Serializer):
    role = serializers.CharField(max_length=100, required=False, default="", allow_blank=True,
                                 help_text="Empty: the project's default rate.")  # fmt: skip
    rate = serializers.DecimalField(max_digits=11, decimal_places=MAX_DECIMALS, min_value=0)


class ProjectTemplateIn(Serializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=200)
    billing_model = serializers.ChoiceField(
        choices=BillingModel.choices, default=BillingModel.TIME_AND_MATERIALS
    )
    budget_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    budget_amount = serializers.DecimalField(**AMOUNT, required=False, allow_null=True)
    duration_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )
    tasks = TemplateTaskIn(many=True, required=False)
    milestones = TemplateMilestoneIn(many=True, required=False)
    rates = TemplateRateIn(many=True, required=False)


class TemplateFilter(FilterSet):
    active = BooleanFilter()
    billing_model = django_filters.ChoiceFilter(choices=BillingModel.choices)
    ordering = django_filters.OrderingFilter(fields=("name", "code", "id"))

    class Meta:
        model = ProjectTemplate
        fields: list[str] = []


class _Templates:
    api_area = "projects"
    serializer_class = ProjectTemplateSerializer
    request: Request

    def get_permissions(self) -> list[Any]:
        allowed = Members if self.request.method in permissions.SAFE_METHODS else Managers
        return [permissions.IsAuthenticated(), allowed()]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return ProjectTemplate.objects.prefetch_related(
            "tasks", "milestones__service_item", "rates"
        ).order_by("name", "id")


class TemplateList(_Templates, generics.ListAPIView):
    """Project templates (ready-made plans a won opportunity or a new project starts from);
    POST adds one with its tasks, milestones and starting rates."""

    filter_backends = FILTER_BACKENDS
    filterset_class = TemplateFilter

    @extend_schema(request=ProjectTemplateIn, responses={201: ProjectTemplateSerializer})
    def post(self, request: Request) -> Response:
        body = ProjectTemplateIn(data=request.data)
        body.is_valid(raise_exception=True)
        template = project_template_create(actor=request.user, **body.validated_data)
        template = self.get_queryset().get(pk=template.pk)
        return Response(ProjectTemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetail(_Templates, generics.RetrieveAPIView):
    """One project template with its tasks, milestones and rates."""

    lookup_field = "code"


urlpatterns = [
    path("", TemplateList.as_view(), name="project-templates"),
    path("<slug:code>/", TemplateDetail.as_view(), name="project-template"),
]
