"""Issuing: gapless numbers per legal entity, kind and year; the posting of an issued invoice
or credit note; milestones invoiced on issue; the document published to integrations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import (
    F,
)

from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    MilestoneBilling,
    NumberSequence,
)
from billing.services.funds import _fund_apply
from billing.services.pricing import (
    ZERO,
    billing_settings,
)
from billing.services.sending import invoice_mail_enqueue, invoice_mail_key, invoice_recipient
from billing.tasks import render_invoice_pdf
from ledger import rules
from ledger.models import LegalEntity
from ledger.outbox import integration_publish
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from projects.models import DeferralRule, Milestone, MilestoneStatus
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.mail import mail_exists
from psa.kernel.money import money_text
from psa.kernel.queue import nudge_on_commit
from psa.kernel.webhooks import webhooks_emit

# --- issue and void --------------------------------------------------------------------------


def _next_number(legal_entity: LegalEntity, kind: str, year: int) -> str:
    """The next number of the sequence, under its row lock (held until commit): two
    concurrent issues queue here, and a rollback gives the number back."""
    try:
        with transaction.atomic():
            NumberSequence.objects.get_or_create(legal_entity=legal_entity, kind=kind, year=year)
    except IntegrityError:
        pass  # created concurrently: fine, we lock it below
    seq = NumberSequence.objects.select_for_update().get(
        legal_entity=legal_entity, kind=kind, year=year
    )
    number = seq.next_number
    NumberSequence.objects.filter(pk=seq.pk).update(next_number=F("next_number") + 1)
    settings_row = billing_settings(legal_entity)
    pattern = (
        settings_row.invoice_number_pattern
        if kind == InvoiceKind.INVOICE
        else settings_row.credit_note_number_pattern
    )
    return pattern.format(year=year, seq=number)


_PART_KIND = {
    LineKind.TIME: "time",
    LineKind.WRITE_DOWN: "time",  # a write-down nets into the time it caps
    # Overage relieves the work in progress accrued at its period's end (``accrued``), the
    # rest is services revenue, as for time.
    LineKind.OVERAGE: "time",
    LineKind.MILESTONE: "milestone",
    LineKind.RECURRING: "recurring",
    LineKind.FUND_TOP_UP: "prepayment",
}


def _parts(invoice: Invoice) -> tuple[rules.InvoicePart, ...]:
    """The invoice's lines as posting parts: one per project and treatment, so a write-down
    nets into the time it caps. A milestone's revenue is deferred until it is reached."""
    lines = list(invoice.lines.all())
    reached = _milestones_reached(invoice)
    sums: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    for ln in lines:
        kind = _PART_KIND.get(ln.kind, "services")
        flag = reached.get(ln.position, True) if kind == "milestone" else True
        deferred = _deferred(ln, reached=flag)
        # A line without per-entry accruals (overage accrued at its period's end, a line from
        # before them) relieves its WIP at the document's rate: its own part, so the time
        # beside it still relieves exactly what its entries accrued.
        legacy = kind == "time" and ln.accrued_functional is None and bool(ln.accrued)
        row = sums[(kind, ln.project_id, flag, ln.revenue_role, deferred, legacy)]
        row[0] += ln.net
        row[1] += ln.tax
        row[2] += ln.accrued
        if kind == "time":
            row[3] = None if legacy else row[3] + (ln.accrued_functional or ZERO)
    return tuple(
        rules.InvoicePart(
            kind=kind,
            net=abs(net),
            tax=abs(tax),
            accrued=abs(accrued),
            accrued_functional=abs(functional) if kind == "time" and functional is not None
            else None,
            reached=flag,
            project_id=project_id,
            revenue_role=role,
            deferred=deferred,
        )
        for (kind, project_id, flag, role, deferred, _), (net, tax, accrued, functional)
        in sums.items()
    )  # fmt: skip


def _deferred(line: InvoiceLine, *, reached: bool) -> bool | None:
    """Whether a service item's line is deferred at issue (None: no item, the kind decides).
    "service_period": deferred, and recognised over the line's service period by the daily
    job (a line without one has nothing to spread over: revenue at issue); "on_milestone":
    deferred until its milestone is reached; "none": revenue at issue."""
    rule = line.deferral_rule
    if not rule:
        return None
    if rule == DeferralRule.SERVICE_PERIOD:
        return bool(line.service_start and line.service_end)
    if rule == DeferralRule.ON_MILESTONE:
        return line.kind == LineKind.MILESTONE and not reached
    return False


def _milestones_reached(invoice: Invoice) -> dict[int, bool]:
    """Position → whether the milestone the line bills is reached (for a credit note: the
    milestone of the line at that position on the invoice it credits)."""

    source = invoice.credits_id or invoice.pk
    return {
        position: status != MilestoneStatus.PLANNED
        for position, status in MilestoneBilling.objects.filter(
            line__invoice_id=source
        ).values_list("line__position", "milestone__status")
    }


def invoice_issue(
    *, invoice: Invoice, actor: Any = None, actor_label: str = "", today: dt.date | None = None
) -> Invoice:
    """Number, date and post a draft. Issuing an issued invoice again changes nothing."""
    today = today or clock.today()
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update()
            .select_related("customer", "legal_entity")
            .get(pk=invoice.pk)
        )
        if locked.status != InvoiceStatus.DRAFT:
            if locked.number:
                return locked
            raise errors.Conflict(
                f"A {locked.get_status_display().lower()} invoice cannot be issued."
            )
        if locked.kind == InvoiceKind.INVOICE and locked.total < 0:
            total = f"{_signed(locked.total, locked.currency)} {locked.currency}"
            raise errors.ValidationFailed(
                f"An invoice cannot be issued with a negative total ({total}): issue a credit "
                "note instead.",
                code="negative_total",
                fields={"total": f"{total} is below zero."},
            )
        if not locked.lines.exists():
            raise errors.ValidationFailed(
                "An invoice needs at least one line.", fields={"lines": "Empty."}
            )
        entity = locked.legal_entity
        rate = _issue_rate(locked, today)
        locked.number = _next_number(entity, locked.kind, today.year)
        locked.status = InvoiceStatus.ISSUED
        locked.issue_date = today
        locked.due_date = today + dt.timedelta(days=locked.customer.payment_terms_days)
        locked.fx_rate = rate
        locked.issued_at = clock.now()
        locked.save(
            update_fields=["number", "status", "issue_date", "due_date", "fx_rate", "issued_at"]
        )
        _journal_issued(locked, rate=rate, today=today, actor=actor, actor_label=actor_label)
        if locked.kind == InvoiceKind.INVOICE:
            _milestones_invoiced(locked)
            _fund_apply(locked, today=today, actor=actor, actor_label=actor_label)
            _settle_if_nothing_to_pay(locked, actor=actor, actor_label=actor_label)
        audit_record(
            action=f"{locked.kind}.issued",
            obj=locked,
            actor=actor,
            actor_label=actor_label,
            after={"number": locked.number, "total": locked.total, "due_date": locked.due_date},
        )
        _publish(locked)

        _announce_issued(locked)
        _credit_note_mail(locked)
    return locked


def _credit_note_mail(locked: Invoice) -> None:
    """A credit note goes to the customer with the issuing (in its transaction, through the
    mail outbox) when the invoice it cancels was e-mailed to them: a customer who got the
    invoice gets what cancels it. Without a billing address it waits for finance's Send."""
    if locked.kind != InvoiceKind.CREDIT_NOTE or not locked.credits_id:
        return
    credited = Invoice.objects.get(pk=locked.credits_id)
    if (credited.sent_at or mail_exists(invoice_mail_key(credited))) and invoice_recipient(locked):
        invoice_mail_enqueue(invoice=locked)


def _signed(amount: Decimal, currency: str) -> str:
    """An amount as a person reads it, with its currency's decimals: 1,234.50, or -120.00
    with a real minus sign (-1,500 JPY, -12.345 KWD)."""
    text = money_text(abs(amount), currency, grouped=True)
    return f"\N{MINUS SIGN}{text}" if amount < 0 else text


def held_for_review_reason(invoice: Invoice) -> str:
    """Why a draft with a negative total is not issued (an invoice never asks for less than
    nothing: what the customer is owed is a credit note)."""
    return (
        f"Held for review: the total is {_signed(invoice.total, invoice.currency)} "
        f"{invoice.currency}; issue a credit note instead."
    )


def _settle_if_nothing_to_pay(locked: Invoice, *, actor: Any, actor_label: str) -> None:
    """A 0.00 invoice (a cap wrote it all down) is settled at issue, in the issuing
    transaction: paid, nothing due, so no pay link, no dunning, no late fee, no autopay. Its
    lines are posted all the same (the write-down is in the books)."""
    if not locked.nothing_to_pay or locked.status != InvoiceStatus.ISSUED:
        return
    locked.status = InvoiceStatus.PAID
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        action="invoice.settled",
        obj=locked,
        actor=actor,
        actor_label=actor_label,
        before={"status": InvoiceStatus.ISSUED},
        after={"status": InvoiceStatus.PAID},
        reason=f"Nothing to pay: the total is 0.00 {locked.currency}; settled at issue.",
    )


def _issue_rate(locked: Invoice, today: dt.date) -> Decimal:
    """An invoice books at the issue date's rate; a credit note reverses the invoice it credits
    at that invoice's rate, so every line leaves at the carrying amount the invoice booked."""
    if locked.kind == InvoiceKind.CREDIT_NOTE and locked.credits_id:
        return Invoice.objects.values_list("fx_rate", flat=True).get(pk=locked.credits_id)
    return fx_rate_required(
        currency=locked.currency,
        functional=locked.legal_entity.functional_currency,
        on=today,
        purpose="the invoice cannot be booked",
    )


def _journal_issued(
    locked: Invoice, *, rate: Decimal, today: dt.date, actor: Any, actor_label: str
) -> None:
    """Post the issued invoice (or credit note) to the ledger, in the caller's transaction."""
    event_cls = (
        rules.CreditNoteIssued if locked.kind == InvoiceKind.CREDIT_NOTE else rules.InvoiceIssued
    )
    document = f"invoice:{locked.credits_id or locked.pk}"
    journal_post(
        legal_entity=locked.legal_entity,
        event=event_cls(
            parts=_parts(locked),
            currency=locked.currency,
            fx_rate=rate,
            customer_id=locked.customer_id,
            project_id=locked.project_id,
            document=document,
            due_date=locked.due_date,
            description=f"{locked.get_kind_display()} {locked.number}",
        ),
        date=today,
        source_type=locked.kind,
        source_id=locked.pk,
        actor=actor,
        actor_label=actor_label,
    )


def _announce_issued(locked: Invoice) -> None:
    """After commit: render the PDF; an issued invoice (not a credit note) is a webhook event."""
    # A head start only: the PDF pages store it on demand and e-mails render it at send time.
    nudge_on_commit(render_invoice_pdf, locked.pk)
    if locked.kind == InvoiceKind.INVOICE:
        webhooks_emit(
            event="invoice.issued",
            data={
                "invoice_id": locked.pk,
                "number": locked.number,
                "total": money_text(locked.total, locked.currency),
                "currency": locked.currency,
                "customer_id": locked.customer_id,
            },
        )


def _milestones_invoiced(invoice: Invoice) -> None:
    """Reached milestones billed by this invoice are now invoiced (one that is not reached yet
    becomes invoiced when it is: ``milestone_reached_post``)."""

    Milestone.objects.filter(
        status=MilestoneStatus.REACHED,
        billings__line__invoice=invoice,
        billings__released_at__isnull=True,
    ).update(status=MilestoneStatus.INVOICED)


def milestone_reached_post(*, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None:
    """A milestone just reached: if an issued invoice already billed it, its revenue was
    deferred — recognise it now (deferred → fixed-fee revenue) and mark it invoiced."""

    link = (
        MilestoneBilling.objects.filter(
            milestone=milestone,
            released_at__isnull=True,
            line__invoice__status__in=[
                InvoiceStatus.ISSUED,
                InvoiceStatus.PARTIALLY_PAID,
                InvoiceStatus.PAID,
            ],
        )
        .select_related("line__invoice__legal_entity")
        .first()
    )
    if link is None or _deferred(link.line, reached=False) is False:
        return  # not billed yet, or its revenue was booked at issue
    invoice = link.line.invoice
    journal_post(
        legal_entity=invoice.legal_entity,
        event=rules.MilestoneReached(
            amount=link.line.net,
            revenue_role=link.line.revenue_role,
            currency=invoice.currency,
            fx_rate=invoice.fx_rate,
            customer_id=invoice.customer_id,
            project_id=link.line.project_id,
            description=f"Milestone reached: {milestone.name} ({invoice.number})",
        ),
        date=on,
        source_type="milestone",
        source_id=milestone.pk,
        actor=actor,
        actor_label=actor_label,
    )
    Milestone.objects.filter(pk=milestone.pk).update(status=MilestoneStatus.INVOICED)


def _publish(invoice: Invoice) -> None:
    """Tell the accounting system, in the modes that want invoices (ledger.outbox.MODE_TOPICS):
    "invoice line trigger" gets the lines; "invoice post" gets the customer and the document."""

    customer = invoice.customer
    lines = [
        {
            "position": ln.position,
            "kind": ln.kind,
            "description": ln.description,
            "quantity": str(ln.quantity),
            "unit_price": str(ln.unit_price),
            "net": money_text(ln.net, invoice.currency),
            "tax_rate": str(ln.tax_rate_value),
            "tax": money_text(ln.tax, invoice.currency),
            "project_id": ln.project_id,
        }
        for ln in invoice.lines.all()
    ]
    document = {
        "id": invoice.pk,
        "kind": invoice.kind,
        "number": invoice.number,
        "credits": invoice.credits_id,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "customer_id": customer.pk,
        "subtotal": money_text(invoice.subtotal, invoice.currency),
        "tax_total": money_text(invoice.tax_total, invoice.currency),
        "total": money_text(invoice.total, invoice.currency),
        "reverse_charge_note": invoice.reverse_charge_note,
        "lines": lines,
    }
    entity, key = invoice.legal_entity, f"{invoice.kind}-{invoice.pk}"
    integration_publish(
        legal_entity=entity, topic="invoice.lines", payload=document, key=f"{key}-lines"
    )
    integration_publish(
        legal_entity=entity,
        topic="customer.upserted",
        key=f"{key}-customer",
        payload={
            "id": customer.pk,
            "name": customer.name,
            "legal_name": customer.legal_name,
            "billing_address": customer.billing_address,
            "country": customer.country,
            "tax_id": customer.tax_id,
            "email": customer.billing_email,
            "currency": customer.currency,
        },
    )
    topic = "credit_note.posted" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice.posted"
    integration_publish(legal_entity=entity, topic=topic, payload=document, key=f"{key}-post")
