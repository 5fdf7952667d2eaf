"""REST API of tax rates per legal entity: list, create, change (one default per entity).
Finance and admins; token area "billing". Writes go through billing.services.taxes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.runs import BillingApi
from billing.models import TaxRate
from billing.services import taxes
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    BooleanFilter,
    ETagDetailView,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
)

RATE = {"max_digits": 6, "decimal_places": 4, "min_value": 0, "max_value": Decimal("0.9999")}


class TaxRateSerializer(ModelSerializer):
    legal_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = TaxRate
        fields = ["id", "legal_entity", "name", "rate", "reverse_charge", "is_default",
                  "is_active", "updated_at"]  # fmt: skip


class TaxRateIn(Serializer):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    name = serializers.CharField(max_length=60)
    rate = serializers.DecimalField(**RATE, help_text="A fraction: 0.2000 for 20 %.")
    reverse_charge = serializers.BooleanField(default=False)
    is_default = serializers.BooleanField(
        default=False, help_text="Make it the entity's default (the previous one stops being)."
    )
    is_active = serializers.BooleanField(default=True)


class TaxRateChangeIn(Serializer):
    name = serializers.CharField(max_length=60, required=False)
    rate = serializers.DecimalField(**RATE, required=False)
    reverse_charge = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class TaxRateFilter(FilterSet):
    legal_entity = django_filters.CharFilter(field_name="legal_entity__code")
    is_active = BooleanFilter()
    is_default = BooleanFilter()
    ordering = django_filters.OrderingFilter(fields=("name", "rate", "id"))

    class Meta:
        model = TaxRate
        fields: list[str] = []


class TaxRateList(BillingApi, generics.ListAPIView):
    """Tax rates of every legal entity, the default of each first; POST adds one."""

    serializer_class = TaxRateSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = TaxRateFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return TaxRate.objects.select_related("legal_entity").order_by(
            "legal_entity__code", "-is_default", "name", "id"
        )

    @extend_schema(request=TaxRateIn, responses={201: TaxRateSerializer})
    def post(self, request: Request) -> Response:
        body = TaxRateIn(data=request.data)
        body.is_valid(raise_exception=True)
        tax = taxes.tax_rate_create(actor=request.user, **body.validated_data)
        return Response(TaxRateSerializer(tax).data, status=status.HTTP_201_CREATED)


class TaxRateDetail(BillingApi, ETagDetailView):
    """One tax rate; PATCH changes it (``is_default: true`` takes the default from the
    entity's previous one; the default cannot be deactivated)."""

    serializer_class = TaxRateSerializer
    change_serializer = TaxRateChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> TaxRate:
        tax = TaxRate.objects.select_related("legal_entity").filter(pk=kwargs["pk"]).first()
        if tax is None:
            raise errors.NotFound("No such tax rate.")
        return tax

    def change(self, obj: TaxRate, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return taxes.tax_rate_change(tax_rate=obj, actor=actor, expected_etag=expected_etag, **data)
