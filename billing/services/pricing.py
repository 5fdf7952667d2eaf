"""Pricing and tax: tax rates per customer, the one line-pricing rule, an invoice's tax
summary and totals check, and the entity's billing settings.

Rounding rule (one, everywhere): see billing/models/invoices.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    Sum,
)

from billing.models import (
    BillingSettings,
    Invoice,
    TaxRate,
)
from crm.models import Customer, TaxTreatment
from ledger.models import LegalEntity
from projects.models import ServiceItem
from psa.kernel.money import round_money

ZERO = Decimal(0)
REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient ({tax_id})."


# --- tax and rounding ------------------------------------------------------------------------


def tax_rates_for(
    *, legal_entity: LegalEntity, customers: dict[int, Customer]
) -> dict[int, TaxRate | None]:
    """The rate each customer's lines carry: the entity's default for domestic customers, none
    (0 %) for reverse-charge and exempt customers. One query, whatever the number of customers."""
    default = TaxRate.objects.filter(
        legal_entity=legal_entity, is_default=True, is_active=True
    ).first()
    return {
        pk: default if c.tax_treatment == TaxTreatment.DOMESTIC else None
        for pk, c in customers.items()
    }


def price_line(
    *, quantity: Decimal, unit_price: Decimal, rate: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    """(net, tax) of one line under the documented rounding rule (billing.models)."""
    net = round_money(quantity * unit_price, currency)
    return net, round_money(net * rate, currency)


def billing_settings(legal_entity: LegalEntity) -> BillingSettings:
    row, _ = BillingSettings.objects.get_or_create(legal_entity=legal_entity)
    return row


def _reverse_charge_note(customer: Customer) -> str:
    if customer.tax_treatment == TaxTreatment.REVERSE_CHARGE and customer.tax_id:
        return REVERSE_CHARGE_NOTE.format(tax_id=customer.tax_id)
    return ""


def invoice_totals_check(invoice: Invoice) -> bool:
    """The documented rounding rule holds: the invoice's figures are the sums of its lines."""
    gross = ExpressionWrapper(F("net") + F("tax"), output_field=DecimalField())
    agg = invoice.lines.aggregate(sum_net=Sum("net"), sum_tax=Sum("tax"), sum_gross=Sum(gross))
    return (
        (agg["sum_net"] or ZERO) == invoice.subtotal
        and (agg["sum_tax"] or ZERO) == invoice.tax_total
        and (agg["sum_gross"] or ZERO) == invoice.total
    )


def line_accounting(item: ServiceItem | None) -> dict[str, Any]:
    """A line that sells a service item keeps the item's accounting as it was when billed:
    the revenue role it posts to and when (its deferral rule). InvoiceLine fields."""
    if item is None:
        return {}
    return {
        "service_item": item,
        "revenue_role": item.revenue_account_role,
        "deferral_rule": item.deferral_rule,
    }
