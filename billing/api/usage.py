"""REST API of recurring fees and the usage quantity a subscription bills per period
(finance and admins; token area "billing"). Writes go through billing.services.recurring."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import RecurringFee, UsageQuantity
from billing.services import recurring
from psa.kernel.api import ModelSerializer, Serializer, role_permission
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
                  "period_months", "start_date", "end_date", "included_hours", "overage_rate",
                  "updated_at", "usage"]  # fmt: skip


class UsageIn(Serializer):
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class FeeList(generics.ListAPIView):
    """Recurring fees (retainers and subscriptions) with the quantities set per period."""

    permission_classes = [FinanceOnly]
    api_area = "billing"
    serializer_class = FeeSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        qs = RecurringFee.objects.prefetch_related("usage").order_by("id")
        project = self.request.query_params.get("project")
        if project and project.isdigit():
            qs = qs.filter(project_id=int(project))
        return qs


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
    path("fees/<int:pk>/usage/<str:period_start>/", UsageSet.as_view(), name="usage"),
]
