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
    OPEN,
    CustomerCredit,
    ExpenseBilling,
    FundApplication,
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
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record


def invoice_void(
    *, invoice: Invoice, actor: Any, reason: str, today: dt.date | None = None
) -> Invoice:
    """Cancel an issued, unpaid invoice with a credit note (a negative copy referencing it) and
    release its time for billing again. Returns the credit note; voiding twice returns it again.

    An invoice paid only from a prepaid fund or the customer's credit (at issue) may be voided
    too: what they paid goes back to the fund or the credit, in the books as well."""
    if not reason.strip():
        raise errors.ValidationFailed(
            "Say why the invoice is voided.", fields={"reason": "Required."}
        )
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == InvoiceStatus.VOID:
            return Invoice.objects.get(credits=locked)
        prepaid = _voidable(locked)
        _prepayments_returned(locked, prepaid, today=today, actor=actor)
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


def _voidable(locked: Invoice) -> list[tuple[Any, Decimal]]:
    """Refuse unless the invoice is issued with nothing paid, or paid only from a prepaid
    fund or credit; returns those prepaid parts (empty: nothing paid)."""
    prepaid = _prepaid_parts(locked)
    paid_by_prepayment = bool(prepaid) and locked.amount_paid == sum(
        (amount for _, amount in prepaid), Decimal(0)
    )
    unpaid = locked.status == InvoiceStatus.ISSUED and not locked.amount_paid
    if locked.kind != InvoiceKind.INVOICE or not (
        unpaid or (locked.status in (*OPEN, InvoiceStatus.PAID) and paid_by_prepayment)
    ):
        raise errors.Conflict(
            "Only an issued invoice with nothing paid (or paid only from a prepaid fund or"
            " credit) can be voided; refund payments first.",
            code="illegal_transition",
        )
    return prepaid


def _prepaid_parts(invoice: Invoice) -> list[tuple[Any, Decimal]]:
    """What prepaid funds and the customer's credit paid of the invoice and still stands."""
    funds = FundApplication.objects.filter(invoice=invoice, reversed_at__isnull=True)
    credit = CustomerCredit.objects.filter(invoice=invoice)
    used = -(credit.aggregate(s=Sum("amount"))["s"] or Decimal(0))
    out: list[tuple[Any, Decimal]] = [(f, f.amount) for f in funds.order_by("pk")]
    if used > 0:
        out.append((None, used))
    return out


def _prepayments_returned(
    invoice: Invoice, prepaid: list[tuple[Any, Decimal]], *, today: dt.date | None, actor: Any
) -> None:
    """Give back what funds (the application is reversed: the fund's balance has it again)
    and credit (a credit movement back in) paid of a voided invoice, and post it back:
    Dr receivable, Cr customer prepayments, so the credit note clears the receivable."""
    now = timezone.now()
    on = today or clock.today()
    for application, amount in prepaid:
        if application is not None:
            FundApplication.objects.filter(pk=application.pk).update(reversed_at=now)
            source, source_id, project_id = (
                "fund_application",
                application.pk,
                application.project_id,
            )
        else:
            back = CustomerCredit.objects.create(
                customer_id=invoice.customer_id, currency=invoice.currency, amount=amount,
                invoice=invoice,
            )  # fmt: skip
            source, source_id, project_id = "credit_use", back.pk, None
        journal_post(
            legal_entity=invoice.legal_entity,
            event=rules.PrepaymentReturned(
                amount=amount, currency=invoice.currency, fx_rate=invoice.fx_rate,
                customer_id=invoice.customer_id, project_id=project_id,
                document=f"invoice:{invoice.pk}",
                description=f"Returned by the void of {invoice.number}",
            ),
            date=on, source_type=source, source_id=source_id, actor=actor,
        )  # fmt: skip
    if prepaid:
        invoice.amount_paid = Decimal(0)
        Invoice.objects.filter(pk=invoice.pk).update(amount_paid=0)


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
