"""Dunning: reminders per level (days from the due date), optional late fee, one per level.

A late fee is a percentage of the amount due with a minimum per currency, or a fixed fee per
currency; a level without a fee in the invoice's currency charges none (the reminder goes).

The reminder row is the claim: ``UNIQUE(invoice, level)`` makes a second reminder for the same
level impossible, however often or concurrently the job runs. Only open invoices are dunned,
so a payment stops dunning. An invoice reaching several levels at once (the job did not run for
a while) gets only the highest one, never a burst of stale reminders.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.template import Template, TemplateSyntaxError

from billing.models import (
    OPEN,
    DunningLevel,
    DunningLevelFee,
    DunningReminder,
    Invoice,
    InvoiceLine,
    LineKind,
)
from billing.services.issuing import invoice_issue
from billing.services.sending import dunning_mail_enqueue
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.money import MoneyError, exponent, round_money
from psa.kernel.validators import decimal_input

DEFAULT_BODY = (
    "Hello,\n\n{{ message }}\n\nInvoice {{ invoice.number }}: {{ amount_due }}, due on "
    '{{ due_date|date:"j F Y" }}.\nPay online: {{ pay_url }}\n\nKind regards,\n{{ entity.name }}\n'
)
DEFAULTS = [
    (-3, "Friendly reminder", "Invoice {{ invoice.number }} is due soon", "A friendly note: "
     "this invoice is due in three days."),
    (0, "Due today", "Invoice {{ invoice.number }} is due today", "This invoice is due today."),
    (7, "Overdue 7 days", "Reminder: invoice {{ invoice.number }} is overdue",
     "We have not received payment for this invoice yet."),
    (14, "Final notice", "Final notice: invoice {{ invoice.number }}",
     "This invoice is now two weeks overdue. Please pay it now to avoid further action."),
]  # fmt: skip


def dunning_levels_default(*, legal_entity: LegalEntity) -> list[DunningLevel]:
    """The usual four levels, for finance to edit: a friendly reminder three days before the
    due date, one on the due date, +7 days and a final notice at +14. Created with every legal
    entity (``ledger.hooks``); an entity that already has levels keeps its own."""
    if DunningLevel.objects.filter(legal_entity=legal_entity).exists():
        return list(DunningLevel.objects.filter(legal_entity=legal_entity))
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
    late_fee_percent: Any = "0",
    late_fees: Mapping[str, Any] | None = None,
    is_active: bool = True,
    level: DunningLevel | None = None,
    expected_etag: str | None = None,
) -> DunningLevel:
    """Create or edit a level; the templates must compile. ``late_fees`` maps a currency to
    its fee (the minimum when ``late_fee_percent`` is set); a blank amount removes the fee in
    that currency, currencies not named keep theirs. ``expected_etag``: the If-Match of an
    edit (412 when the level changed since)."""
    fields: dict[str, str] = {}
    try:
        days = int(days_from_due)
    except (TypeError, ValueError):
        fields["days_from_due"] = "A whole number of days (negative: before the due date)."
        days = 0
    percent = _percent(late_fee_percent, fields)
    fees = _fees(late_fees or {}, fields)
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
        if level is not None:
            level = DunningLevel.objects.select_for_update().get(pk=level.pk)
            etag_require(level, expected_etag)
        row = level or DunningLevel(legal_entity=legal_entity)
        before = None if level is None else _fee_terms(level)
        row.name, row.days_from_due, row.subject, row.body = name.strip(), days, subject, body
        row.late_fee_percent, row.is_active = percent, is_active
        row.save()
        for currency, amount in fees.items():
            if amount is None:
                DunningLevelFee.objects.filter(level=row, currency=currency).delete()
            else:
                DunningLevelFee.objects.update_or_create(
                    level=row, currency=currency, defaults={"amount": amount}
                )
        audit_record(action="dunning_level.saved", obj=row, actor=actor, before=before,
                     after=_fee_terms(row))  # fmt: skip
    return row


def dunning_level_delete(*, level: DunningLevel, actor: Any) -> None:
    """Delete a level no reminder was sent for; one that was stays (deactivate it instead)."""
    with transaction.atomic():
        locked = DunningLevel.objects.select_for_update().filter(pk=level.pk).first()
        if locked is None:
            raise errors.NotFound("No such dunning level.")
        if DunningReminder.objects.filter(level=locked).exists():
            raise errors.Conflict(
                "Reminders were sent at this level; deactivate it instead (is_active: false).",
                fields={"is_active": "Set it to false to stop this level."},
            )
        audit_record(action="dunning_level.deleted", obj=locked, actor=actor,
                     before=_fee_terms(locked))  # fmt: skip
        locked.delete()


def _percent(raw: Any, fields: dict[str, str]) -> Decimal:
    try:
        percent = decimal_input(raw if str(raw or "").strip() else "0", "late_fee_percent")
    except errors.ValidationFailed:
        percent = None
    if percent is None or not 0 <= percent <= 100 or percent != round(percent, 2):
        fields["late_fee_percent"] = "A percentage from 0 to 100, at most two decimals."
        return Decimal(0)
    return percent


def _fees(raw: Mapping[str, Any], fields: dict[str, str]) -> dict[str, Decimal | None]:
    """Currency → fee in its minor unit (None: remove), errors under ``late_fee_<CUR>``."""
    out: dict[str, Decimal | None] = {}
    for code, value in raw.items():
        currency = str(code).strip().upper()
        key = f"late_fee_{currency or 'currency'}"
        try:
            exponent(currency)
        except MoneyError:
            fields[key] = "Use a three-letter ISO 4217 currency code, e.g. EUR."
            continue
        if not str(value if value is not None else "").strip():
            out[currency] = None
            continue
        try:
            amount = decimal_input(value, key)
        except errors.ValidationFailed:
            amount = None
        if amount is None or amount < 0 or amount != round_money(amount, currency):
            places = exponent(currency)
            fields[key] = (f"A positive amount in whole {currency} (no decimals), or 0."
                           if places == 0 else f"A positive amount in {currency} with at most "
                           f"{places} decimals, or 0.")  # fmt: skip
            continue
        out[currency] = amount
    return out


def _fee_terms(level: DunningLevel) -> dict[str, Any]:
    return {
        "days_from_due": level.days_from_due,
        "late_fee_percent": str(level.late_fee_percent),
        "late_fees": {fee.currency: str(fee) for fee in level.fees.all()},
    }


def late_fee_for(*, level: DunningLevel, currency: str, amount_due: Decimal) -> Decimal:
    """The level's late fee on an invoice owing ``amount_due`` in ``currency``: the percentage
    of the amount due, at least the level's fee in that currency, rounded to its minor unit.
    0 when nothing is due or the level has no fee in that currency."""
    if amount_due <= 0:
        return Decimal(0)
    minimum = (
        DunningLevelFee.objects.filter(level=level, currency=currency)
        .values_list("amount", flat=True)
        .first()
    )
    if minimum is None:
        return Decimal(0)
    share = amount_due * level.late_fee_percent / 100
    return round_money(max(share, minimum), currency)


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
            fee = late_fee_for(level=level, currency=locked.currency, amount_due=locked.amount_due)
            if fee > 0:
                reminder.late_fee_invoice = _late_fee_invoice(locked, level, fee, today)
                reminder.save(update_fields=["late_fee_invoice"])
            audit_record(action="dunning.reminded", obj=locked, actor_label="job:dunning",
                         after={"level": level.name,
                                "late_fee": f"{fee} {locked.currency}"})  # fmt: skip
            dunning_mail_enqueue(reminder=reminder)
    except IntegrityError:
        return None  # another run claimed this level
    return reminder


def _late_fee_invoice(
    invoice: Invoice, level: DunningLevel, fee: Decimal, today: dt.date
) -> Invoice:
    """The late fee is its own invoice (an issued invoice is never edited), untaxed."""

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
