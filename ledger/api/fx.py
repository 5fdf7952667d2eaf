"""REST API of FX rates: list them (by currency and date range), set a day's rate. Finance
and admins; token area "ledger". The write goes through ledger.services.fx_rate_set."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ledger import services
from ledger.models import FxRate
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    FilterSet,
    ModelSerializer,
    Serializer,
    role_permission,
)
from psa.kernel.roles import Role
from psa.kernel.validators import currency_code

FinanceOnly = role_permission(Role.FINANCE)


class FxRateSerializer(ModelSerializer):
    class Meta:
        model = FxRate
        fields = ["id", "currency", "functional_currency", "date", "rate"]


class FxRateIn(Serializer):
    currency = serializers.CharField(
        min_length=3, max_length=3, validators=[currency_code], help_text="ISO 4217, e.g. USD."
    )
    functional_currency = serializers.CharField(
        min_length=3, max_length=3, validators=[currency_code],
        help_text="The books' currency the rate converts into, e.g. GBP.",
    )  # fmt: skip
    date = DateField(help_text="The day the rate applies from (until the next rate).")
    rate = serializers.DecimalField(
        max_digits=20, decimal_places=10, min_value=0,
        help_text="Functional units per one unit of currency; greater than zero, 10 decimals.",
    )  # fmt: skip

    def validate_rate(self, value):  # type: ignore[no-untyped-def]
        if value <= 0:
            raise serializers.ValidationError("A rate is greater than zero.")
        return value

    def validate(self, attrs):  # type: ignore[no-untyped-def]
        if attrs["currency"] == attrs["functional_currency"]:
            raise serializers.ValidationError(
                {"currency": "A rate is between two different currencies."}
            )
        return attrs


class FxRateFilter(FilterSet):
    currency = django_filters.CharFilter()
    functional_currency = django_filters.CharFilter()
    date_after = DateFilter("date", lookup_expr="gte", help_text="Rates on or after this day.")
    date_before = DateFilter("date", lookup_expr="lte", help_text="Rates on or before this day.")
    ordering = django_filters.OrderingFilter(fields=("date", "currency", "id"))

    class Meta:
        model = FxRate
        fields: list[str] = []


class FxRateList(generics.ListAPIView):
    """FX rates, newest day first. POST sets a day's rate: 201 when the day had none, 200
    when it replaces the day's rate."""

    permission_classes = [FinanceOnly]
    api_area = "ledger"
    serializer_class = FxRateSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = FxRateFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return FxRate.objects.order_by("-date", "currency", "functional_currency", "id")

    @extend_schema(request=FxRateIn, responses={200: FxRateSerializer, 201: FxRateSerializer})
    def post(self, request: Request) -> Response:
        body = FxRateIn(data=request.data)
        body.is_valid(raise_exception=True)
        row, created = services.fx_rate_set(actor=request.user, **body.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(FxRateSerializer(row).data, status=code)
