"""Dunning: reminders per level (days from the due date), optional late fee, one per level.

The reminder row is the claim: ``UNIQUE(invoice, level)`` makes a second reminder for the same
level impossible, however often or concurrently the job runs. Only open invoices are dunned,
so a payment stops dunning. An invoice reaching several levels at once (the job did not run for
a while) gets only the highest one, never a burst of stale reminders.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.template import Template, TemplateSyntaxError

from billing.models import (
    OPEN,
    DunningLevel,
    DunningReminder,
    Invoice,
    InvoiceLine,
    LineKind,
)
from billing.services.issuing import invoice_issue
from billing.tasks import send_dunning_reminder
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.queue import enqueue_on_commit

DEFAULT_BODY = (
    "Hello,\n\n{{ message }}\n\nInvoice {{ invoice.number }}: {{ amount_due }}, due on "
    '{{ due_date|date:"j F Y" }}.\nPay online: {{ pay_url }}\n\nKind regards,\n{{ entity.name }}\n'
)
DEFAULTS = [
    (-3, "Upcoming", "Invoice {{ invoice.number }} is due soon", "A friendly note: this "
     "invoice is due in three days."),
    (0, "Due today", "Invoice {{ invoice.number }} is due today", "This invoice is due today."),
    (7, "Overdue 7 days", "Reminder: invoice {{ invoice.number }} is overdue",
     "We have not received payment for this invoice yet."),
    (14, "Overdue 14 days", "Second reminder: invoice {{ invoice.number }}",
     "This invoice is now two weeks overdue. Please pay it promptly."),
    (30, "Final notice", "Final notice: invoice {{ invoice.number }}",
     "This invoice is 30 days overdue. Please pay it now to avoid further action."),
]  # fmt: skip


def dunning_levels_default(*, legal_entity: LegalEntity) -> list[DunningLevel]:
    """The usual five levels (-3, 0, +7, +14, +30 days), for finance to edit."""
    with transaction.atomic():
        for days, name, subject, message in DEFAULTS:
            DunningLevel.objects.get_or_create(
                legal_entity=legal_entity, days_from_due=days,
                defaults={"name": name, "subject": subject,
                          "body": DEFAULT_BODY.replace("{{ message }}", message)},
            )  # fmt: skip
    return list(DunningLevel.objects.filter(legal_entity=legal_entity))


def dunning_level_save(
    *,
    legal_entity: LegalEntity,
    actor: Any,
    name: str,
    days_from_due: Any,
    subject: str,
    body: str,
    late_fee: Any = "0",
    is_active: bool = True,
    level: DunningLevel | None = None,
) -> DunningLevel:
    """Create or edit a level; the templates must compile."""
    fields: dict[str, str] = {}
    try:
        days = int(days_from_due)
    except (TypeError, ValueError):
        fields["days_from_due"] = "A whole number of days (negative: before the due date)."
        days = 0
    try:
        fee = Decimal(str(late_fee or "0"))
        if fee < 0 or fee != fee.quantize(Decimal("0.01")):
            raise ValueError
    except (ArithmeticError, ValueError):
        fields["late_fee"] = "A positive amount with at most two decimals, or 0."
        fee = Decimal(0)
    if not name.strip():
        fields["name"] = "Required."
    for key, text in (("subject", subject), ("body", body)):
        if not text.strip():
            fields[key] = "Required."
            continue
        try:
            Template(text)
        except TemplateSyntaxError as exc:
            fields[key] = f"Template error: {exc}"
    clash = DunningLevel.objects.filter(legal_entity=legal_entity, days_from_due=days)
    if level is not None:
        clash = clash.exclude(pk=level.pk)
    if "days_from_due" not in fields and clash.exists():
        fields["days_from_due"] = "Another level already uses this day."
    if fields:
        raise errors.ValidationFailed("The dunning level is not valid.", fields=fields)
    with transaction.atomic():
        row = level or DunningLevel(legal_entity=legal_entity)
        before = None if level is None else {"days_from_due": level.days_from_due,
                                             "late_fee": str(level.late_fee)}  # fmt: skip
        row.name, row.days_from_due, row.subject, row.body = name.strip(), days, subject, body
        row.late_fee, row.is_active = fee, is_active
        row.save()
        audit_record(action="dunning_level.saved", obj=row, actor=actor, before=before,
                     after={"days_from_due": days, "late_fee": str(fee)})  # fmt: skip
    return row


def dunning_remind(
    *, invoice: Invoice, level: DunningLevel, today: dt.date
) -> DunningReminder | None:
    """Claim the (invoice, level) reminder, add the late fee if the level has one, and send it
    after commit. None if it was already claimed, the invoice is no longer open or it owes
    nothing."""

    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if locked.status not in OPEN or locked.amount_due <= 0:
                return None  # paid, void, or nothing to pay (a 0.00 invoice)
            reminder = DunningReminder.objects.create(invoice=locked, level=level)
            if level.late_fee > 0:
                reminder.late_fee_invoice = _late_fee_invoice(locked, level, today)
                reminder.save(update_fields=["late_fee_invoice"])
            audit_record(action="dunning.reminded", obj=locked, actor_label="job:dunning",
                         after={"level": level.name, "late_fee": str(level.late_fee)})  # fmt: skip
            enqueue_on_commit(send_dunning_reminder, reminder.pk)
    except IntegrityError:
        return None  # another run claimed this level
    return reminder


def _late_fee_invoice(invoice: Invoice, level: DunningLevel, today: dt.date) -> Invoice:
    """The late fee is its own invoice (an issued invoice is never edited), untaxed."""

    fee = level.late_fee
    draft = Invoice.objects.create(
        legal_entity_id=invoice.legal_entity_id, customer_id=invoice.customer_id,
        project_id=invoice.project_id, currency=invoice.currency, subtotal=fee,
        tax_total=Decimal(0), total=fee, pay_token=secrets.token_urlsafe(24),
    )  # fmt: skip
    InvoiceLine.objects.create(
        invoice=draft, position=1, kind=LineKind.ADJUSTMENT, quantity=Decimal(1),
        unit_price=fee, net=fee,
        description=f"Late fee on invoice {invoice.number} ({level.name})"[:300],
    )  # fmt: skip
    return invoice_issue(invoice=draft, actor_label="job:dunning", today=today)
