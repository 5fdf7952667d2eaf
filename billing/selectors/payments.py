"""Reads of the payment layer, scoped to who may see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from billing.models import (
    IN_FLIGHT,
    OPEN,
    AttemptKind,
    AttemptStatus,
    CustomerCredit,
    Payment,
    PaymentAttempt,
)
from billing.selectors.due import STUCK_AFTER
from billing.selectors.invoices import invoice_list_visible_to
from crm.models import Customer


def payment_list_visible_to(user: Any) -> QuerySet[Payment]:
    return Payment.objects.filter(invoice__in=invoice_list_visible_to(user)).select_related(
        "invoice", "customer"
    )


def attempts_needing_attention(
    *, visible_to: Any, now: dt.datetime | None = None
) -> QuerySet[PaymentAttempt]:
    """Failed autopay attempts of still-open invoices with no retry planned, and attempts
    stuck in flight: what the operations page lists with a retry button."""
    now = now or timezone.now()
    failed = Q(
        status=AttemptStatus.FAILED, kind=AttemptKind.OFF_SESSION, invoice__status__in=OPEN,
        next_retry_at__isnull=True,
    )  # fmt: skip
    stuck = Q(status__in=IN_FLIGHT, updated_at__lt=now - STUCK_AFTER) & ~Q(
        kind=AttemptKind.CHECKOUT, status=AttemptStatus.CREATED
    )
    later = PaymentAttempt.objects.filter(
        invoice=OuterRef("invoice"), number__gt=OuterRef("number")
    )
    # A failed attempt superseded by a later one of the same invoice is history, not a task.
    return (
        PaymentAttempt.objects.filter(invoice__in=invoice_list_visible_to(visible_to))
        .filter(failed | stuck)
        .exclude(Exists(later))
        .select_related("invoice__customer")
        .order_by("updated_at")
    )


def invoice_payments(invoice: Any) -> dict[str, Any]:
    """The payment side of the invoice page: payments with refunds, attempts, write-offs,
    the customer's credit, and which actions apply."""

    return {
        "payments": list(
            invoice.payments.prefetch_related("refunds").order_by("received_on", "pk")
        ),
        "attempts": list(invoice.attempts.order_by("-number")[:20]),
        "write_offs": list(invoice.write_offs.all()),
        "customer_credit": credit_balance(customer=invoice.customer, currency=invoice.currency),
        "can_record_payment": invoice.kind == "invoice" and invoice.status in OPEN,
    }


def credit_balance(*, customer: Customer, currency: str) -> Decimal:
    total = CustomerCredit.objects.filter(customer=customer, currency=currency).aggregate(
        s=Sum("amount")
    )["s"]
    return total or Decimal(0)
