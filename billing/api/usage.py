"""REST API of recurring fees and the usage quantity a subscription bills per period
(finance and admins; token area "billing"). Writes go through billing.services.recurring."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import FeeKind, PeriodAnchor, RecurringFee, UsageQuantity
from billing.services import recurring
from projects.models import Project
from psa.kernel import errors
from psa.kernel.api import DateField, ETagDetailView, ModelSerializer, Serializer, role_permission
from psa.kernel.roles import Role

FinanceOnly = role_permission(Role.FINANCE)


class UsageSerializer(ModelSerializer):
    class Meta:
        model = UsageQuantity
        fields = ["period_start", "quantity", "updated_at"]


class FeeSerializer(ModelSerializer):
    usage = UsageSerializer(many=True, read_only=True)

    class Meta:
        model = RecurringFee
        fields = ["id", "project", "kind", "description", "unit_price", "quantity",
                  "period_months", "period_anchor", "start_date", "end_date", "included_hours",
                  "overage_rate", "updated_at", "usage"]  # fmt: skip


class FeeIn(Serializer):
    """A new recurring fee. ``period_anchor``: calendar_month (default; a partial first or
    last period is billed pro rata by days) or anniversary (periods from the start date)."""

    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    kind = serializers.ChoiceField(choices=FeeKind.choices)
    description = serializers.CharField(max_length=200)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, min_value=0)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=1)
    period_months = serializers.ChoiceField(choices=[1, 3, 6, 12], default=1)
    period_anchor = serializers.ChoiceField(
        choices=PeriodAnchor.choices, default=PeriodAnchor.CALENDAR_MONTH
    )
    start_date = DateField()
    end_date = DateField(required=False, allow_null=True)
    included_hours = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    overage_rate = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False, allow_null=True
    )


class FeeChangeIn(Serializer):
    description = serializers.CharField(max_length=200, required=False)
    period_anchor = serializers.ChoiceField(choices=PeriodAnchor.choices, required=False)


class UsageIn(Serializer):
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class FeeList(generics.ListCreateAPIView):
    """Recurring fees (retainers and subscriptions) with the quantities set per period; POST
    adds one."""

    permission_classes = [FinanceOnly]
    api_area = "billing"
    serializer_class = FeeSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        qs = RecurringFee.objects.prefetch_related("usage").order_by("id")
        project = self.request.query_params.get("project")
        if project and project.isdigit():
            qs = qs.filter(project_id=int(project))
        return qs

    @extend_schema(request=FeeIn, responses={201: FeeSerializer})
    def post(self, request: Request) -> Response:
        body = FeeIn(data=request.data)
        body.is_valid(raise_exception=True)
        fee = recurring.recurring_fee_create(actor=request.user, **body.validated_data)
        return Response(FeeSerializer(fee).data, status=201)


class FeeDetail(ETagDetailView):
    """One recurring fee; PATCH changes its description or period anchor (409 once a period
    is billed, for the anchor)."""

    permission_classes = [FinanceOnly]
    api_area = "billing"
    serializer_class = FeeSerializer
    change_serializer = FeeChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> RecurringFee:
        fee = RecurringFee.objects.prefetch_related("usage").filter(pk=kwargs["pk"]).first()
        if fee is None:
            raise errors.NotFound("No such fee.")
        return fee

    def change(
        self, obj: RecurringFee, *, actor: Any, expected_etag: str | None, data: dict
    ) -> RecurringFee:
        return recurring.recurring_fee_change(
            fee=obj, actor=actor, expected_etag=expected_etag, **data
        )


class UsageSet(APIView):
    """Set the quantity a subscription bills for the period starting on ``period_start``
    (refused with 409 once that period is invoiced)."""

    permission_classes = [FinanceOnly]
    api_area = "billing"

    @extend_schema(request=UsageIn, responses={200: UsageSerializer})
    def put(self, request: Request, pk: int, period_start: str) -> Response:
        fee = get_object_or_404(RecurringFee, pk=pk)
        body = UsageIn(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            start = dt.date.fromisoformat(period_start)
        except ValueError:
            raise serializers.ValidationError({"period_start": ["Use YYYY-MM-DD."]}) from None
        row = recurring.usage_quantity_set(
            fee=fee,
            period_start=start,
            quantity=body.validated_data["quantity"],
            actor=request.user,
        )
        return Response(UsageSerializer(row).data)


# Mounted under /api/v1/billing/ by billing.api.invoices's urlpatterns.
urlpatterns = [
    path("fees/", FeeList.as_view(), name="fees"),
    path("fees/<int:pk>/", FeeDetail.as_view(), name="fee"),
    path("fees/<int:pk>/usage/<str:period_start>/", UsageSet.as_view(), name="usage"),
]
