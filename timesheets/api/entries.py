"""Time entries in and out: the week (cells, submit, approve), search, bulk, one entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.models import Task
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    ETagDetailView,
    ModelSerializer,
    QuerySerializer,
    Serializer,
    UpdatedSinceFilterSet,
    if_match_schema,
)
from timesheets import selectors, services
from timesheets.api.common import Approvers, Loggers, Readers, project_for_time_by_code
from timesheets.models import TimeEntry


class TimeEntrySerializer(ModelSerializer):
    person = serializers.EmailField(source="person.email")
    project = serializers.CharField(source="project.code")
    task = serializers.CharField(source="task.name", default=None, allow_null=True)

    class Meta:
        model = TimeEntry
        fields = ["id", "person", "project", "task", "date", "hours", "note", "billable",
                  "status", "rejection_reason", "billed_at", "updated_at"]  # fmt: skip


class EntryListQuery(QuerySerializer):
    week = DateField(operational=True, help_text="Any day of the week (Monday to Sunday).")
    person = serializers.EmailField(required=False, help_text="Default: yourself.")


class CellSerializer(Serializer):
    project = serializers.SlugField(max_length=30, help_text="The project's code.")
    task = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    date = DateField(operational=True)
    hours = serializers.CharField(max_length=10, help_text='Decimal hours; "0" clears the cell.')
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    billable = serializers.BooleanField(required=False)


class WeekSerializer(Serializer):
    week = DateField(operational=True, help_text="Any day of the week (Monday to Sunday).")


class PersonWeekSerializer(WeekSerializer):
    person = serializers.EmailField()
    day = DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class CountSerializer(Serializer):
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
        project = project_for_time_by_code(request.user, v["project"])  # 404 unless open to you
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
    date_after = DateFilter("date", lookup_expr="gte")
    date_before = DateFilter("date", lookup_expr="lte")
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


class BulkIn(Serializer):
    entries = CellSerializer(many=True, min_length=1, max_length=200)


class EntryBulk(generics.GenericAPIView):
    """Set many cells of your time at once, all or nothing (each as the week grid does).

    A cell is (project, task, day): a new one is created, an existing draft one updated,
    "0" hours clears it. On any error nothing is saved and the error names the entry.
    """

    permission_classes = [Loggers]
    serializer_class = BulkIn
    pagination_class = None  # the saved entries come back as a plain array, never paged
    api_area = "timesheets"

    @extend_schema(request=BulkIn, responses={201: TimeEntrySerializer(many=True)})
    def post(self, request: Request) -> Response:
        data = BulkIn(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.time_cells_save(actor=request.user, cells=data.validated_data["entries"])
        ids = [e.pk for e in saved]
        rows = TimeEntry.objects.filter(pk__in=ids).select_related("person", "project", "task")
        rows = sorted(rows, key=lambda e: ids.index(e.pk))
        return Response(TimeEntrySerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class EntryChangeIn(Serializer):
    hours = serializers.CharField(max_length=10, required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    billable = serializers.BooleanField(required=False)


class EntryDetail(ETagDetailView):
    """One time entry; you change or delete your own draft or rejected entries."""

    permission_classes = [Readers]
    serializer_class = TimeEntrySerializer
    change_serializer = EntryChangeIn
    api_area = "timesheets"

    def fetch(self, request: Request, **kwargs: Any) -> TimeEntry:
        entry = (
            selectors.time_visible_to(request.user)
            .select_related("person", "project", "task")
            .filter(pk=kwargs["pk"])
            .first()
        )
        if entry is None:
            raise errors.NotFound("No such time entry.")
        return entry

    def change(
        self, obj: TimeEntry, *, actor: Any, expected_etag: str | None, data: dict
    ) -> TimeEntry | None:
        if obj.person_id != actor.pk:
            raise errors.PermissionDenied("You can only change your own time.")
        # The service locks the person, then the entry, and checks If-Match on it.
        return services.time_entry_save(
            actor=actor, person=obj.person, project=obj.project, task=obj.task, date=obj.date,
            hours=data.get("hours", obj.hours), note=data.get("note"),
            billable=data.get("billable"), expected_etag=expected_etag,
        )  # fmt: skip

    @if_match_schema(request=EntryChangeIn, responses={200: TimeEntrySerializer, 204: None})
    def patch(self, request: Request, **kwargs: Any) -> Response:
        entry = self.fetch(request, **kwargs)
        data = EntryChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        saved = self.change(
            entry, actor=request.user, expected_etag=self.expected_etag, data=data.validated_data
        )
        if saved is None:  # 0 hours: the cell is empty now
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self.respond(self.fetch(request, **kwargs))

    @if_match_schema(responses={204: None})
    def delete(self, request: Request, **kwargs: Any) -> Response:
        entry = self.fetch(request, **kwargs)
        self.change(
            entry, actor=request.user, expected_etag=self.expected_etag, data={"hours": "0"}
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
