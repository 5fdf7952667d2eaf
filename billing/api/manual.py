"""The body of a manual invoice (POST /billing/invoices/): a draft for a customer with the
lines typed in. Prices and quantities only; net, tax and totals are computed by
billing.services.manual, never taken from the client."""

from __future__ import annotations

from rest_framework import serializers

from crm.models import Customer
from projects.models import Project, ServiceItem
from psa.kernel.api import Serializer, SlugRelated


class ManualInvoiceLineIn(Serializer):
    description = serializers.CharField(max_length=300)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, help_text="In the customer's currency."
    )
    taxable = serializers.BooleanField(
        default=True, help_text="Carries the customer's tax rate (none when reverse charge)."
    )
    project = SlugRelated(
        slug_field="code", queryset=Project.objects.all(), required=False, allow_null=True
    )
    service_item = SlugRelated(
        slug_field="code", queryset=ServiceItem.objects.all(), required=False, allow_null=True,
        help_text="Posts to the item's revenue account with its deferral rule.",
    )  # fmt: skip


class ManualInvoiceIn(Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    project = SlugRelated(
        slug_field="code", queryset=Project.objects.all(), required=False, allow_null=True,
        help_text="The invoice's project (a project of the customer).",
    )  # fmt: skip
    lines = ManualInvoiceLineIn(many=True, help_text="One to 200 lines (checked by the service).")
