"""REST API of billing runs: preview what a run would bill, execute it (optionally issuing), list
and read runs. Finance and admins only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.models import BillingRun
from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
    role_permission,
)
from psa.kernel.api_money import MoneyField
from psa.kernel.roles import Role

Finance = role_permission(Role.FINANCE)


class BillingApi:
    permission_classes = [Finance]
    api_area = "billing"


# --- billing runs -------------------------------------------------------------------------


class RunIn(Serializer):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    period_end = DateField(help_text="Bill approved time up to this day.")
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, allow_null=True
    )
    project = SlugRelated(
        slug_field="code", queryset=Project.objects.all(), required=False, allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        entity = attrs["legal_entity"]
        for name in ("customer", "project"):
            obj = attrs.get(name)
            if obj is not None and obj.legal_entity_id != entity.pk:
                raise serializers.ValidationError({name: "Billed by another legal entity."})
        return attrs


class RunExecuteIn(RunIn):
    issue = serializers.BooleanField(
        default=False, help_text="Issue the invoices at once (else they stay drafts)."
    )


class PreviewLineOut(Serializer):
    kind = serializers.CharField()
    project_id = serializers.IntegerField(allow_null=True)
    project_name = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_price = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    net = MoneyField()  # in the invoice's currency, given in the context when known
    tax = MoneyField()
    entries = serializers.IntegerField()


class PreviewInvoiceOut(Serializer):
    customer_id = serializers.IntegerField()
    customer_name = serializers.CharField()
    currency = serializers.CharField()
    project_id = serializers.IntegerField(allow_null=True)
    lines = PreviewLineOut(many=True)
    subtotal = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()


class PreviewOut(Serializer):
    invoices = PreviewInvoiceOut(many=True)
    unpriced_entries = serializers.IntegerField()
    total_entries = serializers.IntegerField()


def preview_line(line: Any) -> dict[str, Any]:
    """One preview line, whichever shape billing.services gives it.

    Time lines had ``hours``/``rate``; lines of every kind now carry ``kind``, ``description``,
    ``quantity`` and ``unit_price``. Reading both keeps the API stable across that change.
    """
    kind = getattr(line, "kind", "time")
    quantity = getattr(line, "quantity", None)
    if quantity is None:
        quantity = getattr(line, "hours", Decimal(0))
    unit_price = getattr(line, "unit_price", None)
    if unit_price is None:
        unit_price = getattr(line, "rate", None)
    project_name = getattr(line, "project_name", "") or ""
    return {
        "kind": str(kind),
        "project_id": getattr(line, "project_id", None),
        "project_name": project_name,
        "description": getattr(line, "description", None) or project_name,
        "quantity": quantity,
        "unit_price": unit_price,
        "net": line.net,
        "tax": line.tax,
        "entries": getattr(line, "entries", 0) or 0,
    }


def preview_data(preview: Any) -> dict[str, Any]:
    invoices = []
    for inv in preview.invoices:
        # Each line carries its invoice's currency, so its amounts show that currency's decimals.
        lines = [{**preview_line(ln), "currency": inv.currency} for ln in inv.lines]
        subtotal = sum((ln["net"] for ln in lines), Decimal(0))
        tax_total = sum((ln["tax"] for ln in lines), Decimal(0))
        invoices.append({
            "customer_id": inv.customer_id, "customer_name": inv.customer_name,
            "currency": inv.currency, "project_id": inv.project_id, "lines": lines,
            "subtotal": subtotal, "tax_total": tax_total, "total": subtotal + tax_total,
        })  # fmt: skip
    return {
        "invoices": invoices,
        "unpriced_entries": preview.unpriced_entries,
        "total_entries": sum(ln["entries"] for inv in invoices for ln in inv["lines"]),
    }


class RunSerializer(ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code")
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    started_by = serializers.EmailField(source="started_by.email", default=None, allow_null=True)

    class Meta:
        model = BillingRun
        fields = ["id", "legal_entity", "period_end", "customer", "project", "status",
                  "started_by", "actor_label", "started_at", "finished_at", "invoices_created",
                  "entries_billed", "issue_failures"]  # fmt: skip


class RunPreview(BillingApi, generics.GenericAPIView):
    """What a billing run would bill: per customer (or project) invoice, nothing written."""

    serializer_class = RunIn

    @extend_schema(request=RunIn, responses=PreviewOut)
    def post(self, request: Request) -> Response:
        data = RunIn(data=request.data)
        data.is_valid(raise_exception=True)
        preview = services.billing_run_preview(**data.validated_data)
        return Response(PreviewOut(preview_data(preview)).data)


class RunFilter(FilterSet):
    legal_entity = django_filters.CharFilter(field_name="legal_entity__code")
    customer = django_filters.NumberFilter(field_name="customer_id")
    project = django_filters.CharFilter(field_name="project__code")
    period_end_after = DateFilter("period_end", lookup_expr="gte")
    period_end_before = DateFilter("period_end", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("started_at", "period_end", "id"))

    class Meta:
        model = BillingRun
        fields = ["status"]


class RunListExecute(BillingApi, generics.ListAPIView):
    """Billing runs, newest first; POST executes one (drafts, or issued with ``issue``)."""

    serializer_class = RunSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = RunFilter

    def get_queryset(self):
        return BillingRun.objects.select_related("legal_entity", "project", "started_by").order_by(
            "-started_at", "-id"
        )

    @extend_schema(request=RunExecuteIn, responses={201: RunSerializer})
    def post(self, request: Request) -> Response:
        data = RunExecuteIn(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.billing_run_execute(actor=request.user, **data.validated_data)
        run = self.get_queryset().get(pk=run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetail(BillingApi, generics.RetrieveAPIView):
    serializer_class = RunSerializer

    def get_queryset(self):
        return BillingRun.objects.select_related("legal_entity", "project", "started_by")


# --- invoices -----------------------------------------------------------------------------
