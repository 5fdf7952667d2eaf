"""Voiding: an issued invoice is never edited; a credit note negates it."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    Sum,
)
from django.utils import timezone

from billing.models import (
    ExpenseBilling,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    MilestoneBilling,
    Recognition,
    ScheduleBilling,
    TimeEntryBilling,
)
from billing.services.issuing import invoice_issue
from ledger import rules
from ledger.selectors import document_receivable
from ledger.services import journal_post
from projects.models import Milestone, MilestoneStatus
from psa.kernel import errors
from psa.kernel.audit import audit_record


def invoice_void(
    *, invoice: Invoice, actor: Any, reason: str, today: dt.date | None = None
) -> Invoice:
    """Cancel an issued, unpaid invoice with a credit note (a negative copy referencing it) and
    release its time for billing again. Returns the credit note; voiding twice returns it again."""
    if not reason.strip():
        raise errors.ValidationFailed(
            "Say why the invoice is voided.", fields={"reason": "Required."}
        )
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == InvoiceStatus.VOID:
            return Invoice.objects.get(credits=locked)
        if locked.kind != InvoiceKind.INVOICE or locked.status != InvoiceStatus.ISSUED:
            raise errors.Conflict(
                "Only an issued invoice with nothing paid can be voided; refund payments first.",
                code="illegal_transition",
            )
        originals = list(
            InvoiceLine.objects.select_for_update().filter(invoice=locked).order_by("position")
        )
        recognised = _recognised_by_line([ln.pk for ln in originals])
        credit = Invoice.objects.create(
            legal_entity_id=locked.legal_entity_id,
            customer_id=locked.customer_id,
            project_id=locked.project_id,
            kind=InvoiceKind.CREDIT_NOTE,
            credits=locked,
            currency=locked.currency,
            period_end=locked.period_end,
            subtotal=-locked.subtotal,
            tax_total=-locked.tax_total,
            total=-locked.total,
            reverse_charge_note=locked.reverse_charge_note,
            pay_token=secrets.token_urlsafe(24),
        )
        _credit_lines(credit, originals, recognised)
        now = timezone.now()
        released = TimeEntryBilling.objects.filter(
            line__invoice=locked, released_at__isnull=True
        ).update(released_at=now)
        for link_model in (ExpenseBilling, MilestoneBilling, ScheduleBilling):
            link_model.objects.filter(line__invoice=locked, released_at__isnull=True).update(
                released_at=now
            )
        _milestones_released(locked)
        Invoice.objects.filter(pk=locked.pk).update(status=InvoiceStatus.VOID)
        audit_record(
            action="invoice.voided",
            obj=locked,
            actor=actor,
            reason=reason,
            after={"credit_note": credit.pk, "entries_released": released},
        )
        credit = invoice_issue(invoice=credit, actor=actor, today=today)
        _receivable_fx_settled(locked, credit=credit, actor=actor)
    return credit


def _credit_lines(credit: Invoice, originals: list[InvoiceLine], recognised: dict) -> None:
    """The credit note's lines: the invoice's, negated, with the same accounting."""
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=credit,
            position=ln.position,
            kind=ln.kind,
            description=f"Credit: {ln.description}"[:300],
            project_id=ln.project_id,
            quantity=-ln.quantity,
            unit_price=ln.unit_price,
            net=-ln.net,
            tax_rate_id=ln.tax_rate_id,
            tax_rate_value=ln.tax_rate_value,
            tax=-ln.tax,
            # A recurring fee's credit takes back what was recognised from revenue.
            accrued=-recognised.get(ln.pk, ln.accrued),
            accrued_functional=(None if ln.accrued_functional is None else -ln.accrued_functional),
            service_item_id=ln.service_item_id,
            revenue_role=ln.revenue_role,
            deferral_rule=ln.deferral_rule,
            service_start=ln.service_start,
            service_end=ln.service_end,
            written_down_hours=-ln.written_down_hours,
        )
        for ln in originals
    )


def _receivable_fx_settled(invoice: Invoice, *, credit: Invoice, actor: Any) -> None:
    """The credit note reverses at the invoice's rate, so the receivable is normally zero in
    both currencies now. Whatever the functional currency still shows while nothing is owed in
    the invoice's (a part valued at another rate) is realised FX, never left in receivables."""
    document = f"invoice:{invoice.pk}"
    owed, residual = document_receivable(legal_entity=credit.legal_entity, document=document)
    if owed or not residual:
        return
    journal_post(
        legal_entity=credit.legal_entity,
        event=rules.ReceivableFxSettled(
            currency=invoice.currency, fx_rate=credit.fx_rate, customer_id=invoice.customer_id,
            document=document, description=f"FX on {invoice.number}", residual=residual,
        ),
        date=credit.issue_date, source_type=credit.kind, source_id=credit.pk, actor=actor,
    )  # fmt: skip


def _recognised_by_line(line_ids: list[int]) -> dict[int, Decimal]:

    return dict(
        Recognition.objects.filter(line_id__in=line_ids)
        .values("line_id")
        .annotate(s=Sum("amount"))
        .values_list("line_id", "s")
    )


def _milestones_released(invoice: Invoice) -> None:
    """Milestones billed by a voided invoice may be billed again: invoiced → reached."""

    Milestone.objects.filter(
        status=MilestoneStatus.INVOICED, billings__line__invoice=invoice
    ).update(status=MilestoneStatus.REACHED)
