"""REST API of the projects app: projects, assignments, rates, milestones, service items.

One view per operation; each delegates to projects.services / projects.selectors, the same
code the project pages use. Visibility as on the pages: finance sees every project, a
manager the ones they run or work on, a consultant the ones they are assigned to; only the
project's manager or finance changes a project.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.selectors import customer_get_for_user
from projects import selectors, services
from projects.models import (
    Assignment,
    Milestone,
    MilestoneStatus,
    Project,
    ProjectStatus,
    ProjectTemplate,
    RateCard,
    ServiceItem,
    Task,
)
from psa.kernel import clock, errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    ETagDetailView,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
    UpdatedSinceFilterSet,
    role_permission,
)
from psa.kernel.api_money import MoneyField
from psa.kernel.roles import Role

User = get_user_model()
Members = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)
Managers = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)


class ProjectApi:
    permission_classes = [Members]
    api_area = "projects"


def _project(request: Request, code: str) -> Project:
    return selectors.project_get_for_user(request.user, code)


# --- projects -----------------------------------------------------------------------------


class ProjectSerializer(ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    legal_entity = serializers.CharField(source="legal_entity.code", read_only=True)
    manager = serializers.EmailField(source="manager.email", read_only=True)
    logged_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    approved_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    budget_amount = MoneyField(read_only=True, allow_null=True)

    class Meta:
        model = Project
        fields = ["id", "code", "name", "customer", "customer_name", "legal_entity",
                  "billing_model", "currency", "budget_hours", "budget_amount", "start_date",
                  "end_date", "manager", "status", "allow_all_users", "logged_hours",
                  "approved_hours", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class ProjectChangeIn(Serializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=ProjectStatus.choices, required=False)
    end_date = DateField(required=False, allow_null=True)
    budget_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    budget_amount = MoneyField(max_digits=15, min_value=0, required=False, allow_null=True)
    allow_all_users = serializers.BooleanField(required=False)


class ProjectCreateIn(Serializer):
    template = SlugRelated(slug_field="code", queryset=ProjectTemplate.objects.filter(active=True))
    customer = serializers.IntegerField(min_value=1)
    code = serializers.SlugField(
        max_length=30,
        help_text="Unique; not `milestones` or `service-items` (words of the API's URLs).",
    )
    name = serializers.CharField(max_length=200)
    start_date = DateField()
    manager = SlugRelated(
        slug_field="email",
        queryset=User.objects.filter(is_active=True, groups__name=Role.PROJECT_MANAGER),
    )
    budget_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    budget_amount = MoneyField(max_digits=15, min_value=0, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE)


class ProjectFilter(UpdatedSinceFilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    manager = django_filters.CharFilter(field_name="manager__email", lookup_expr="iexact")
    start_after = DateFilter("start_date", lookup_expr="gte")
    start_before = DateFilter("start_date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=("code", "name", "start_date", "end_date", "updated_at", "id")
    )

    class Meta:
        model = Project
        fields = ["status", "billing_model"]


class ProjectListCreate(ProjectApi, generics.ListAPIView):
    serializer_class = ProjectSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ProjectFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Project.objects.none()
        visible = selectors.project_list_visible_to(self.request.user)
        return selectors.with_hours(visible).order_by("code")

    @extend_schema(request=ProjectCreateIn, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        """A project for a customer from a template (as winning an opportunity does)."""
        if not Managers().has_permission(request, self):
            raise errors.PermissionDenied("Project managers and finance create projects.")
        data = ProjectCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer = customer_get_for_user(request.user, fields.pop("customer"))
        project = services.project_create_from_template(
            customer=customer, actor=request.user, **fields
        )
        fresh = selectors.with_hours(Project.objects.filter(pk=project.pk)).get()
        return Response(ProjectSerializer(fresh).data, status=status.HTTP_201_CREATED)


class ProjectDetail(ProjectApi, ETagDetailView):
    serializer_class = ProjectSerializer
    change_serializer = ProjectChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> Project:
        visible = selectors.project_list_visible_to(request.user).filter(code=kwargs["code"])
        project = selectors.with_hours(visible).first()
        if project is None:
            raise errors.NotFound("No such project.")
        return project

    def change(self, obj: Project, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return services.project_update(
            project=obj, actor=actor, expected_etag=expected_etag, **data
        )


# --- tasks and assignments ----------------------------------------------------------------


class TaskSerializer(ModelSerializer):
    class Meta:
        model = Task
        fields = ["id", "name", "billable", "active", "note_required"]


class TaskFilter(FilterSet):
    ordering = django_filters.OrderingFilter(fields=("name", "id"))

    class Meta:
        model = Task
        fields = ["active", "billable"]


class TaskList(ProjectApi, generics.ListAPIView):
    """The project's tasks (their ids go with time entries)."""

    serializer_class = TaskSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = TaskFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        return _project(self.request, self.kwargs["code"]).tasks.order_by("name", "id")


class AssignmentSerializer(ModelSerializer):
    person = serializers.EmailField(source="person.email", read_only=True)
    person_name = serializers.CharField(source="person.get_full_name", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "person", "person_name", "role", "planned_hours", "updated_at"]
        read_only_fields = fields


class AssignmentIn(Serializer):
    person = SlugRelated(slug_field="email", queryset=User.objects.filter(is_active=True))
    role = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    planned_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )


class AssignmentFilter(UpdatedSinceFilterSet):
    ordering = django_filters.OrderingFilter(fields=("person__email", "role", "updated_at", "id"))

    class Meta:
        model = Assignment
        fields = ["role"]


class AssignmentListCreate(ProjectApi, generics.ListAPIView):
    serializer_class = AssignmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AssignmentFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        project = _project(self.request, self.kwargs["code"])
        return project.assignments.select_related("person").order_by("person__email", "id")

    @extend_schema(request=AssignmentIn, responses={201: AssignmentSerializer})
    def post(self, request: Request, code: str) -> Response:
        data = AssignmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = services.assignment_create(
            project=_project(request, code), actor=request.user, **data.validated_data
        )
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


# --- rates --------------------------------------------------------------------------------


class RateSerializer(ModelSerializer):
    person = serializers.EmailField(source="person.email", default=None, allow_null=True)
    rate = MoneyField(read_only=True)

    class Meta:
        model = RateCard
        fields = ["id", "level", "person", "role", "rate", "currency", "effective_from",
                  "effective_to"]  # fmt: skip
        read_only_fields = fields


class RateIn(Serializer):
    rate = MoneyField(
        max_digits=11,
        min_value=0,
        help_text="In the project's currency, with at most its decimals.",
    )
    effective_from = DateField()
    person = SlugRelated(
        slug_field="email", queryset=User.objects.filter(is_active=True), required=False,
        allow_null=True, help_text="A rate for this person on the project.",
    )  # fmt: skip
    role = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True,
        help_text="A rate for this role on the project. Neither person nor role: the default.",
    )  # fmt: skip


class RateFilter(FilterSet):
    in_force_on = DateFilter(method="filter_in_force_on")
    ordering = django_filters.OrderingFilter(fields=("effective_from", "level", "id"))

    class Meta:
        model = RateCard
        fields = ["level"]

    def filter_in_force_on(self, qs: Any, name: str, value: Any) -> Any:
        from django.db.models import Q

        return qs.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=value)).filter(
            effective_from__lte=value
        )


class RateListCreate(ProjectApi, generics.ListAPIView):
    """The project's rate lines (managers and finance); a change is a new line from a date."""

    permission_classes = [Managers]
    serializer_class = RateSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = RateFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RateCard.objects.none()
        project = _project(self.request, self.kwargs["code"])
        return project.rates.select_related("person").order_by("-effective_from", "-id")

    @extend_schema(request=RateIn, responses={201: RateSerializer})
    def post(self, request: Request, code: str) -> Response:
        project = _project(request, code)
        services.project_manage_check(project=project, actor=request.user)
        data = RateIn(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.rate_card_change(project=project, actor=request.user, **data.validated_data)
        return Response(RateSerializer(line).data, status=status.HTTP_201_CREATED)


# --- milestones ---------------------------------------------------------------------------


class MilestoneSerializer(ModelSerializer):
    project = serializers.CharField(source="project.code", read_only=True)
    service_item = serializers.CharField(
        source="service_item.code", default=None, allow_null=True, read_only=True
    )
    amount = MoneyField(currency="project.currency", read_only=True)

    class Meta:
        model = Milestone
        fields = ["id", "project", "name", "amount", "planned_date", "status", "service_item",
                  "reached_on", "updated_at"]  # fmt: skip
        read_only_fields = fields


class MilestoneChangeIn(Serializer):
    name = serializers.CharField(max_length=200, required=False)
    amount = MoneyField(max_digits=15, min_value=0, required=False)
    planned_date = DateField(required=False)


class MilestoneFilter(UpdatedSinceFilterSet):
    project = django_filters.CharFilter(field_name="project__code")
    planned_after = DateFilter("planned_date", lookup_expr="gte")
    planned_before = DateFilter("planned_date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("planned_date", "amount", "updated_at", "id"))

    class Meta:
        model = Milestone
        fields = ["status"]


class MilestoneList(ProjectApi, generics.ListAPIView):
    """Milestones of the projects you may see."""

    serializer_class = MilestoneSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = MilestoneFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Milestone.objects.none()
        visible = selectors.project_list_visible_to(self.request.user).values("pk")
        return (
            Milestone.objects.filter(project__in=visible)
            .select_related("project", "service_item")
            .order_by("planned_date", "id")
        )


def _milestone(request: Request, pk: int) -> Milestone:
    visible = selectors.project_list_visible_to(request.user).values("pk")
    milestone = (
        Milestone.objects.filter(project__in=visible, pk=pk)
        .select_related("project", "service_item")
        .first()
    )
    if milestone is None:
        raise errors.NotFound("No such milestone.")
    return milestone


class MilestoneDetail(ProjectApi, ETagDetailView):
    serializer_class = MilestoneSerializer
    change_serializer = MilestoneChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> Milestone:
        return _milestone(request, kwargs["pk"])

    def change(self, obj: Milestone, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return services.milestone_update(
            milestone=obj, actor=actor, expected_etag=expected_etag, **data
        )


class MilestoneReach(ProjectApi, generics.GenericAPIView):
    permission_classes = [Managers]
    serializer_class = MilestoneSerializer

    @extend_schema(request=None, responses=MilestoneSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Mark a planned milestone reached today (the project's manager or finance)."""

        milestone = _milestone(request, pk)
        services.project_manage_check(project=milestone.project, actor=request.user)
        if milestone.status == MilestoneStatus.INVOICED:
            raise errors.Conflict("The milestone is invoiced.")
        services.milestone_reach(milestone=milestone, on=clock.today(), actor=request.user)
        return Response(MilestoneSerializer(_milestone(request, pk)).data)


# --- service items ------------------------------------------------------------------------


class ServiceItemSerializer(ModelSerializer):
    class Meta:
        model = ServiceItem
        fields = ["id", "code", "name", "revenue_account_role", "deferral_rule", "tax_category",
                  "active"]  # fmt: skip


class ServiceItemFilter(FilterSet):
    ordering = django_filters.OrderingFilter(fields=("code", "name", "id"))

    class Meta:
        model = ServiceItem
        fields = ["active", "deferral_rule"]


class ServiceItemIn(Serializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=200)
    revenue_account_role = serializers.CharField(max_length=50, default="revenue_services")
    deferral_rule = serializers.CharField(max_length=20, default="none")
    tax_category = serializers.CharField(max_length=50, default="standard")
    active = serializers.BooleanField(default=True)


class ServiceItemList(ProjectApi, generics.ListAPIView):
    """The catalogue of service items; finance adds one (its revenue role must be an income
    account in every chart, or the answer is a 400 naming ``revenue_account_role``)."""

    serializer_class = ServiceItemSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ServiceItemFilter
    queryset = ServiceItem.objects.order_by("code")

    @extend_schema(request=ServiceItemIn, responses={201: ServiceItemSerializer})
    def post(self, request: Request) -> Response:
        data = ServiceItemIn(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.service_item_create(actor=request.user, **data.validated_data)
        return Response(ServiceItemSerializer(item).data, status=status.HTTP_201_CREATED)


app_name = "projects-api"
urlpatterns = [
    path("", ProjectListCreate.as_view(), name="projects"),
    path("milestones/", MilestoneList.as_view(), name="milestones"),
    path("milestones/<int:pk>/", MilestoneDetail.as_view(), name="milestone"),
    path("milestones/<int:pk>/reach/", MilestoneReach.as_view(), name="milestone-reach"),
    path("service-items/", ServiceItemList.as_view(), name="service-items"),
    path("<slug:code>/", ProjectDetail.as_view(), name="project"),
    path("<slug:code>/tasks/", TaskList.as_view(), name="tasks"),
    path("<slug:code>/assignments/", AssignmentListCreate.as_view(), name="assignments"),
    path("<slug:code>/rates/", RateListCreate.as_view(), name="rates"),
]
