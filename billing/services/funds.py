"""The prepaid fund: what a project's fund still holds, and drawing it down on issue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    F,
    Sum,
)

from billing.models import (
    FundApplication,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.services.pricing import (
    ZERO,
)
from ledger import rules
from ledger.selectors import prepayment_carrying
from ledger.services import journal_post
from projects.models import Project


def fund_available(*, project_id: int, exclude_invoice: int | None = None) -> Decimal:
    """What a prepaid fund holds now: top-ups on issued invoices less what was applied."""

    topped = (
        InvoiceLine.objects.filter(
            project_id=project_id,
            kind=LineKind.FUND_TOP_UP,
            invoice__kind=InvoiceKind.INVOICE,
            invoice__status__in=[
                InvoiceStatus.ISSUED,
                InvoiceStatus.PARTIALLY_PAID,
                InvoiceStatus.PAID,
            ],
        )
        .exclude(invoice_id=exclude_invoice)
        .aggregate(s=Sum("net"))["s"]
        or ZERO
    )
    applied = (
        FundApplication.objects.filter(project_id=project_id, reversed_at__isnull=True).aggregate(
            s=Sum("amount")
        )["s"]
        or ZERO
    )
    return topped - applied


def _fund_apply(invoice: Invoice, *, today: dt.date, actor: Any, actor_label: str) -> None:
    """Draw each prepaid fund down against this invoice's draw-down lines (their gross), as far
    as the fund goes: posted (prepayments → receivable) and counted as paid. The project row is
    locked so two invoices cannot both spend the same balance."""

    gross = (
        invoice.lines.filter(kind=LineKind.FUND_DRAWDOWN)
        .values("project_id")
        .annotate(g=Sum(F("net") + F("tax")))
        .order_by("project_id")
    )
    applied_total = ZERO
    for row in gross:
        Project.objects.select_for_update().filter(pk=row["project_id"]).first()
        amount = min(
            row["g"], fund_available(project_id=row["project_id"], exclude_invoice=invoice.pk)
        )
        if amount <= 0:
            continue
        application = FundApplication.objects.create(
            invoice=invoice, project_id=row["project_id"], amount=amount
        )
        journal_post(
            legal_entity=invoice.legal_entity,
            event=rules.FundApplied(
                amount=amount,
                carrying=prepayment_carrying(
                    legal_entity=invoice.legal_entity,
                    customer_id=invoice.customer_id,
                    currency=invoice.currency,
                    amount=amount,
                    excluding_source=(invoice.kind, str(invoice.pk)),
                ),
                currency=invoice.currency,
                fx_rate=invoice.fx_rate,
                customer_id=invoice.customer_id,
                project_id=row["project_id"],
                document=f"invoice:{invoice.pk}",
                description=f"Prepaid fund applied to {invoice.number}",
            ),
            date=today,
            source_type="fund_application",
            source_id=application.pk,
            actor=actor,
            actor_label=actor_label,
        )
        applied_total += amount
    if applied_total:
        invoice.amount_paid += applied_total
        invoice.status = (
            InvoiceStatus.PAID
            if invoice.amount_paid >= invoice.total
            else InvoiceStatus.PARTIALLY_PAID
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            amount_paid=invoice.amount_paid, status=invoice.status
        )
