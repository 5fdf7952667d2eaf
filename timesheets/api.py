"""REST API of the timesheets app: time entries in and out (payroll, BI, other clients).

One view per operation; each delegates to timesheets.services / selectors, the same code the
week grid and the approvals inbox use, so every rule holds the same way.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.models import Project, Task
from psa import errors
from psa.api import role_permission
from psa.roles import Role
from timesheets import selectors, services
from timesheets.models import TimeEntry

Loggers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER)
Readers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)
Approvers = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)


class TimeEntrySerializer(serializers.ModelSerializer):
    person = serializers.EmailField(source="person.email")
    project = serializers.CharField(source="project.code")
    task = serializers.CharField(source="task.name", default=None)

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


urlpatterns = [
    path("entries/", EntryList.as_view(), name="time-entries"),
    path("cell/", CellSave.as_view(), name="time-cell"),
    path("weeks/submit/", WeekSubmit.as_view(), name="time-week-submit"),
    path("weeks/approve/", WeekApprove.as_view(), name="time-week-approve"),
    path("weeks/reject/", WeekReject.as_view(), name="time-week-reject"),
]
