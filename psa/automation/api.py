"""REST API of job runs: what each scheduled job did, skipped and failed (finance, admins).

The same rows the operations page shows; read-only (jobs are started by the scheduler).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.urls import path
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers

from psa.automation.models import JobRun, JobRunStatus
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateTimeFilter,
    FilterSet,
    ModelSerializer,
    role_permission,
)
from psa.kernel.roles import Role

# The operations page is for finance and admins (psa.automation.views.operations).
Operators = role_permission(Role.FINANCE, Role.ADMIN)


class JobRunSerializer(ModelSerializer):
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = JobRun
        fields = ["id", "job", "status", "started_at", "finished_at", "duration_seconds",
                  "processed", "skipped", "failed", "errors", "waits", "correlation_id",
                  "worker"]  # fmt: skip

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, run: JobRun) -> float | None:
        return run.duration.total_seconds() if run.duration else None


class JobRunFilter(FilterSet):
    job = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=JobRunStatus.choices)
    started_after = DateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = DateTimeFilter(field_name="started_at", lookup_expr="lt")
    # A run changes until it finishes; "updated_since" finds the runs started or finished since.
    updated_since = DateTimeFilter(method="filter_updated_since")
    ordering = django_filters.OrderingFilter(fields=("started_at", "finished_at", "job", "id"))

    class Meta:
        model = JobRun
        fields = ["job", "status"]

    def filter_updated_since(self, qs, name, value):

        return qs.filter(Q(started_at__gte=value) | Q(finished_at__gte=value))


class JobApi:
    permission_classes = [Operators]
    api_area = "jobs"
    serializer_class = JobRunSerializer
    queryset = JobRun.objects.order_by("-started_at", "-id")


class JobRunList(JobApi, generics.ListAPIView):
    filter_backends = FILTER_BACKENDS
    filterset_class = JobRunFilter


class JobRunDetail(JobApi, generics.RetrieveAPIView):
    pass


app_name = "jobs-api"
urlpatterns = [
    path("", JobRunList.as_view(), name="runs"),
    path("<int:pk>/", JobRunDetail.as_view(), name="run"),
]
