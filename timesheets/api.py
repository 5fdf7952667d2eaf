"""REST API of the timesheets app: time entries in and out (payroll, BI, other clients).

One view per operation; each delegates to timesheets.services / selectors, the same code the
week grid and the approvals inbox use, so every rule holds the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.models import Customer
from projects.models import Project, Task
from projects.selectors import project_list_visible_to
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    ETagMixin,
    UpdatedSinceFilterSet,
    etag_detail_schema,
    if_match_schema,
    role_permission,
)
from psa.kernel.roles import Role
from timesheets import selectors, services
from timesheets.models import ApprovalPolicy, Expense, ExpenseCategory, TimeEntry

Loggers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER)
Readers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)
Approvers = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)


class TimeEntrySerializer(serializers.ModelSerializer):
    person = serializers.EmailField(source="person.email")
    project = serializers.CharField(source="project.code")
    task = serializers.CharField(source="task.name", default=None, allow_null=True)

    class Meta:
        model = TimeEntry
        fields = ["id", "person", "project", "task", "date", "hours", "note", "billable",
                  "status", "rejection_reason", "billed_at", "updated_at"]  # fmt: skip


class EntryListQuery(serializers.Serializer):
    week = serializers.DateField(help_text="Any day of the week (Monday to Sunday).")
    person = serializers.EmailField(required=False, help_text="Default: yourself.")


class CellSerializer(serializers.Serializer):
    project = serializers.SlugField(max_length=30, help_text="The project's code.")
    task = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    date = serializers.DateField()
    hours = serializers.CharField(max_length=10, help_text='Decimal hours; "0" clears the cell.')
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    billable = serializers.BooleanField(required=False)


class WeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Any day of the week (Monday to Sunday).")


class PersonWeekSerializer(WeekSerializer):
    person = serializers.EmailField()
    day = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


def _monday(day: dt.date) -> dt.date:
    return selectors.week_start(day)


class EntryList(generics.GenericAPIView):
    """Time entries of one week: your own, or (managers, finance) a person's you may see."""

    permission_classes = [Readers]
    serializer_class = TimeEntrySerializer
    pagination_class = None  # one person-week: a handful of rows
    api_area = "timesheets"

    @extend_schema(parameters=[EntryListQuery], responses=TimeEntrySerializer(many=True))
    def get(self, request: Request) -> Response:
        query = EntryListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        monday = _monday(query.validated_data["week"])
        entries = (
            selectors.time_visible_to(request.user)
            .filter(
                person__email=query.validated_data.get("person") or request.user.email,
                date__gte=monday,
                date__lte=monday + dt.timedelta(days=6),
            )
            .select_related("person", "project", "task")
            .order_by("date", "project__code", "id")
        )
        return Response(TimeEntrySerializer(entries, many=True).data)


class CellSave(generics.GenericAPIView):
    """Set one cell of your week (project, task, day): create, update, or clear at 0 hours."""

    permission_classes = [Loggers]
    serializer_class = CellSerializer
    api_area = "timesheets"

    @extend_schema(request=CellSerializer, responses={200: TimeEntrySerializer, 204: None})
    def put(self, request: Request) -> Response:
        data = CellSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        found = Project.objects.filter(code=v["project"]).values_list("pk", flat=True).first()
        project = selectors.project_for_time(request.user, found or 0)  # 404 unless open to you
        task = None
        if v["task"] is not None:
            task = Task.objects.filter(pk=v["task"], project=project).first()
            if task is None:
                raise errors.ValidationFailed(
                    "No such task on this project.", fields={"task": "Not on this project."}
                )
        entry = services.time_entry_save(
            actor=request.user,
            person=request.user,
            project=project,
            task=task,
            date=v["date"],
            hours=v["hours"],
            note=v.get("note"),
            billable=v.get("billable"),
        )
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TimeEntrySerializer(entry).data)


class WeekSubmit(generics.GenericAPIView):
    permission_classes = [Loggers]
    serializer_class = WeekSerializer
    api_area = "timesheets"

    @extend_schema(request=WeekSerializer, responses=CountSerializer)
    def post(self, request: Request) -> Response:
        """Submit your week; returns how many entries went to approval."""
        data = WeekSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        n = services.week_submit(
            actor=request.user,
            person=request.user,
            week_start=_monday(data.validated_data["week"]),
        )
        return Response({"count": n})


def _person(request: Request, email: str):
    visible = selectors.time_visible_to(request.user).values("person_id")
    person = get_user_model().objects.filter(email=email.lower(), pk__in=visible).first()
    if person is None:
        raise errors.NotFound("No such person.")
    return person


class WeekApprove(generics.GenericAPIView):
    permission_classes = [Approvers]
    serializer_class = PersonWeekSerializer
    api_area = "timesheets"

    @extend_schema(request=PersonWeekSerializer, responses=CountSerializer)
    def post(self, request: Request) -> Response:
        """Approve a person's submitted week (or one day of it) on the projects you approve."""
        data = PersonWeekSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        n = services.week_approve(
            actor=request.user,
            person=_person(request, v["person"]),
            week_start=_monday(v["week"]),
            day=v["day"],
        )
        return Response({"count": n})


class WeekReject(generics.GenericAPIView):
    permission_classes = [Approvers]
    serializer_class = PersonWeekSerializer
    api_area = "timesheets"

    @extend_schema(request=PersonWeekSerializer, responses=CountSerializer)
    def post(self, request: Request) -> Response:
        """Send a person's week (or one day) back with a reason."""
        data = PersonWeekSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        n = services.week_reject(
            actor=request.user,
            person=_person(request, v["person"]),
            week_start=_monday(v["week"]),
            day=v["day"],
            reason=v["reason"],
        )
        return Response({"count": n})


# --- every entry you may see: filtered, paginated, for sync ------------------------------


class EntryFilter(UpdatedSinceFilterSet):
    person = django_filters.CharFilter(field_name="person__email", lookup_expr="iexact")
    project = django_filters.CharFilter(field_name="project__code")
    customer = django_filters.NumberFilter(field_name="project__customer_id")
    date_after = django_filters.DateFilter("date", lookup_expr="gte")
    date_before = django_filters.DateFilter("date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("date", "hours", "updated_at", "id"))

    class Meta:
        model = TimeEntry
        fields = ["status", "billable"]


class EntrySearch(generics.ListAPIView):
    """Time entries you may see (yours; managers also their projects'; finance all)."""

    permission_classes = [Readers]
    serializer_class = TimeEntrySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = EntryFilter
    api_area = "timesheets"

    def get_queryset(self):
        return (
            selectors.time_visible_to(self.request.user)
            .select_related("person", "project", "task")
            .order_by("-date", "id")
        )


class BulkIn(serializers.Serializer):
    entries = CellSerializer(many=True, min_length=1, max_length=200)


def _projects_for_time(request: Request, codes: set[str]) -> dict[str, Project]:
    found = dict(Project.objects.filter(code__in=codes).values_list("code", "pk"))
    return {code: selectors.project_for_time(request.user, found.get(code, 0)) for code in codes}


class EntryBulk(generics.GenericAPIView):
    """Set many cells of your time at once, all or nothing (each as the week grid does).

    A cell is (project, task, day): a new one is created, an existing draft one updated,
    "0" hours clears it. On any error nothing is saved and the error names the entry.
    """

    permission_classes = [Loggers]
    serializer_class = BulkIn
    api_area = "timesheets"

    @extend_schema(request=BulkIn, responses={201: TimeEntrySerializer(many=True)})
    def post(self, request: Request) -> Response:
        data = BulkIn(data=request.data)
        data.is_valid(raise_exception=True)
        cells = data.validated_data["entries"]
        saved: list[TimeEntry] = []
        with transaction.atomic():
            for i, v in enumerate(cells):
                try:
                    project = _projects_for_time(request, {v["project"]})[v["project"]]
                    task = None
                    if v["task"] is not None:
                        task = Task.objects.filter(pk=v["task"], project=project).first()
                        if task is None:
                            raise errors.ValidationFailed(
                                "No such task on this project.",
                                fields={"task": "Not on this project."},
                            )
                    entry = services.time_entry_save(
                        actor=request.user, person=request.user, project=project, task=task,
                        date=v["date"], hours=v["hours"], note=v.get("note"),
                        billable=v.get("billable"),
                    )  # fmt: skip
                except errors.DomainError as exc:
                    fields = {f"entries[{i}].{k}": m for k, m in exc.fields.items()}
                    raise type(exc)(
                        f"Entry {i + 1}: {exc.message}", code=exc.code, fields=fields
                    ) from exc
                if entry is not None:
                    saved.append(entry)
        ids = [e.pk for e in saved]
        rows = TimeEntry.objects.filter(pk__in=ids).select_related("person", "project", "task")
        rows = sorted(rows, key=lambda e: ids.index(e.pk))
        return Response(TimeEntrySerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class EntryChangeIn(serializers.Serializer):
    hours = serializers.CharField(max_length=10, required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    billable = serializers.BooleanField(required=False)


class EntryDetail(ETagMixin, generics.GenericAPIView):
    """One time entry; you change or delete your own draft or rejected entries."""

    permission_classes = [Readers]
    serializer_class = TimeEntrySerializer
    api_area = "timesheets"

    def _get(self, pk: int) -> TimeEntry:
        entry = (
            selectors.time_visible_to(self.request.user)
            .select_related("person", "project", "task")
            .filter(pk=pk)
            .first()
        )
        if entry is None:
            raise errors.NotFound("No such time entry.")
        return entry

    @etag_detail_schema(responses=TimeEntrySerializer)
    def get(self, request: Request, pk: int) -> Response:
        entry = self._get(pk)
        return self.with_etag(Response(TimeEntrySerializer(entry).data), entry)

    def _lock(self, entry: TimeEntry) -> None:
        # The person first, then the entry: the order time_entry_save locks them in, so an
        # API write and a week-grid save of the same person cannot deadlock.
        get_user_model().objects.select_for_update().filter(pk=entry.person_id).first()
        self.locked(entry)

    def _save(self, entry: TimeEntry, **changes: Any) -> TimeEntry | None:
        if entry.person_id != self.request.user.pk:
            raise errors.PermissionDenied("You can only change your own time.")
        return services.time_entry_save(
            actor=self.request.user, person=entry.person, project=entry.project,
            task=entry.task, date=entry.date, hours=changes.get("hours", entry.hours),
            note=changes.get("note"), billable=changes.get("billable"),
        )  # fmt: skip

    @if_match_schema(request=EntryChangeIn, responses={200: TimeEntrySerializer, 204: None})
    def patch(self, request: Request, pk: int) -> Response:
        data = EntryChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self._get(pk)
        with transaction.atomic():
            self._lock(entry)
            saved = self._save(entry, **data.validated_data)
        if saved is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        entry = self._get(pk)
        return self.with_etag(Response(TimeEntrySerializer(entry).data), entry)

    @if_match_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        entry = self._get(pk)
        with transaction.atomic():
            self._lock(entry)
            self._save(entry, hours="0")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- expenses -----------------------------------------------------------------------------


class ExpenseSerializer(serializers.ModelSerializer):
    person = serializers.EmailField(source="person.email", read_only=True)
    project = serializers.CharField(source="project.code", read_only=True)
    has_receipt = serializers.SerializerMethodField()

    class Meta:
        model = Expense
        fields = ["id", "person", "project", "date", "amount", "currency", "category",
                  "description", "billable", "markup_percent", "has_receipt", "status",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_has_receipt(self, expense: Expense) -> bool:
        return bool(expense.receipt)


class OptionalBoolean(serializers.BooleanField):
    """Left out of a multipart form means "not given", not False (DRF's HTML default)."""

    default_empty_html = serializers.empty


class ExpenseChangeIn(serializers.Serializer):
    date = serializers.DateField(required=False)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    category = serializers.ChoiceField(choices=ExpenseCategory.choices, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    billable = OptionalBoolean(required=False)
    markup_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )


class ExpenseCreateIn(ExpenseChangeIn):
    project = serializers.SlugField(max_length=30, help_text="The project's code.")
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(
        max_length=3, min_length=3, required=False, help_text="Default: the project's."
    )
    category = serializers.ChoiceField(choices=ExpenseCategory.choices)
    receipt = serializers.FileField(
        required=False, help_text="PDF, JPEG or PNG, at most 10 MB (checked by content)."
    )


class ExpenseFilter(UpdatedSinceFilterSet):
    person = django_filters.CharFilter(field_name="person__email", lookup_expr="iexact")
    project = django_filters.CharFilter(field_name="project__code")
    customer = django_filters.NumberFilter(field_name="project__customer_id")
    date_after = django_filters.DateFilter("date", lookup_expr="gte")
    date_before = django_filters.DateFilter("date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("date", "amount", "updated_at", "id"))

    class Meta:
        model = Expense
        fields = ["status", "category", "billable"]


class ExpenseListCreate(generics.ListAPIView):
    """Expenses you may see; add your own with a receipt (multipart/form-data)."""

    permission_classes = [Readers]
    serializer_class = ExpenseSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ExpenseFilter
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    api_area = "timesheets"

    def get_queryset(self):
        return (
            selectors.expense_visible_to(self.request.user)
            .select_related("person", "project")
            .order_by("-date", "-id")
        )

    @extend_schema(request=ExpenseCreateIn, responses={201: ExpenseSerializer})
    def post(self, request: Request) -> Response:
        data = ExpenseCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        project = _projects_for_time(request, {v["project"]})[v.pop("project")]
        v.setdefault("currency", project.currency)
        expense = services.expense_create(
            actor=request.user, person=request.user, project=project, **v
        )
        return Response(ExpenseSerializer(expense).data, status=status.HTTP_201_CREATED)


class ExpenseDetail(ETagMixin, generics.GenericAPIView):
    permission_classes = [Readers]
    serializer_class = ExpenseSerializer
    api_area = "timesheets"

    def _get(self, pk: int) -> Expense:
        expense = (
            selectors.expense_visible_to(self.request.user)
            .select_related("person", "project")
            .filter(pk=pk)
            .first()
        )
        if expense is None:
            raise errors.NotFound("No such expense.")
        return expense

    @etag_detail_schema(responses=ExpenseSerializer)
    def get(self, request: Request, pk: int) -> Response:
        expense = self._get(pk)
        return self.with_etag(Response(ExpenseSerializer(expense).data), expense)

    @if_match_schema(request=ExpenseChangeIn, responses=ExpenseSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = ExpenseChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        expense = self._get(pk)
        with transaction.atomic():
            self.locked(expense)
            services.expense_update(actor=request.user, expense=expense, **data.validated_data)
        expense = self._get(pk)
        return self.with_etag(Response(ExpenseSerializer(expense).data), expense)


# --- approval policies --------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.code", default=None, allow_null=True)

    class Meta:
        model = ApprovalPolicy
        fields = ["id", "project", "customer", "enabled", "max_hours_per_day",
                  "max_hours_per_week", "note_required", "project_must_be_active",
                  "within_budget", "allow_weekends", "allow_holidays",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields


class PolicyChangeIn(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    max_hours_per_day = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    max_hours_per_week = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    note_required = serializers.BooleanField(required=False)
    project_must_be_active = serializers.BooleanField(required=False)
    within_budget = serializers.BooleanField(required=False)
    allow_weekends = serializers.BooleanField(required=False)
    allow_holidays = serializers.BooleanField(required=False)


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


class PolicyDetail(ETagMixin, generics.GenericAPIView):
    permission_classes = [Approvers]
    serializer_class = PolicySerializer
    api_area = "timesheets"

    def _get(self, pk: int) -> ApprovalPolicy:
        policy = (
            selectors.approval_policy_visible_to(self.request.user)
            .select_related("project", "customer")
            .filter(pk=pk)
            .first()
        )
        if policy is None:
            raise errors.NotFound("No such approval policy.")
        return policy

    @etag_detail_schema(responses=PolicySerializer)
    def get(self, request: Request, pk: int) -> Response:
        policy = self._get(pk)
        return self.with_etag(Response(PolicySerializer(policy).data), policy)

    @if_match_schema(request=PolicyChangeIn, responses=PolicySerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = PolicyChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        policy = self._get(pk)
        with transaction.atomic():
            self.locked(policy)
            services.approval_policy_update(
                actor=request.user, policy=policy, **data.validated_data
            )
        policy = self._get(pk)
        return self.with_etag(Response(PolicySerializer(policy).data), policy)

    @if_match_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        policy = self._get(pk)
        with transaction.atomic():
            self.locked(policy)
            services.approval_policy_delete(actor=request.user, policy=policy)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("entries/", EntryList.as_view(), name="time-entries"),
    path("entries/search/", EntrySearch.as_view(), name="time-entry-search"),
    path("entries/bulk/", EntryBulk.as_view(), name="time-entry-bulk"),
    path("entries/<int:pk>/", EntryDetail.as_view(), name="time-entry"),
    path("expenses/", ExpenseListCreate.as_view(), name="expenses"),
    path("expenses/<int:pk>/", ExpenseDetail.as_view(), name="expense"),
    path("approval-policies/", PolicyListCreate.as_view(), name="approval-policies"),
    path("approval-policies/<int:pk>/", PolicyDetail.as_view(), name="approval-policy"),
    path("cell/", CellSave.as_view(), name="time-cell"),
    path("weeks/submit/", WeekSubmit.as_view(), name="time-week-submit"),
    path("weeks/approve/", WeekApprove.as_view(), name="time-week-approve"),
    path("weeks/reject/", WeekReject.as_view(), name="time-week-reject"),
]
