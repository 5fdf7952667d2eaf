"""Expenses with their receipts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from projects.models import Project
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.documents import DocumentRefused, image_check, pdf_sanitise
from psa.kernel.etag import etag_require
from psa.kernel.validators import decimal_input, money_places_check
from timesheets.models import EntryStatus, Expense, ExpenseCategory
from timesheets.rules import can_log_time
from timesheets.selectors import expenses_pending

MAX_RECEIPT_BYTES = 10 * 1024 * 1024
# What the file is, from its first bytes: the browser's content type and the name are the
# uploader's claims, so neither is trusted.
SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)


def receipt_check(upload: UploadedFile) -> str:
    """The receipt's real type ("pdf", "jpg" or "png"), or ValidationFailed naming ``receipt``.

    Images must also be well-formed and within psa.kernel.documents' pixel and decoded-size
    bounds (a tiny PNG can decode to gigabytes when the invoice PDF is rendered); PDFs must be
    readable (they are rebuilt without scripts or actions before they join an invoice)."""
    if upload.size is not None and upload.size > MAX_RECEIPT_BYTES:
        raise errors.ValidationFailed(
            "The receipt is larger than 10 MB.", fields={"receipt": "At most 10 MB."}
        )
    upload.seek(0)
    data = upload.read(MAX_RECEIPT_BYTES + 1)
    upload.seek(0)
    kind = next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)
    if kind is None:
        raise errors.ValidationFailed(
            "The receipt must be a PDF, JPEG or PNG file.",
            fields={"receipt": "Only PDF, JPEG or PNG (checked by content)."},
        )
    try:
        if kind == "pdf":
            pdf_sanitise(data)
        else:
            image_check(data)
    except DocumentRefused as exc:
        raise errors.ValidationFailed(
            f"The receipt cannot be accepted: {exc}", fields={"receipt": str(exc)}
        ) from exc
    return kind


def _decimal(value: object, name: str, *, label: str) -> Decimal:
    return decimal_input(value, name, label=label)


def expense_create(
    *,
    actor: Any,
    person: Any,
    project: Project,
    date: dt.date,
    amount: object,
    currency: str,
    category: str,
    description: str = "",
    billable: bool = True,
    markup_percent: object = 0,
    receipt: UploadedFile | None = None,
) -> Expense:
    """Record an expense the person paid for a project, with an optional receipt."""
    if actor.pk != person.pk:
        raise errors.PermissionDenied("You can only add your own expenses.")
    date_require(date, "date", operational=True)
    if not can_log_time(person, project):
        raise errors.ValidationFailed(
            f"You cannot book expenses on {project.code.upper()}.",
            fields={"project": "Not open to you."},
        )
    value = _decimal(amount, "amount", label="The amount")
    if value <= 0 or value >= Decimal("1e10"):
        raise errors.ValidationFailed(
            "The amount must be positive.", fields={"amount": "A positive amount like 12.50."}
        )
    markup = _decimal(markup_percent or 0, "markup_percent", label="The markup")
    if not Decimal(0) <= markup <= Decimal(100) or markup != markup.quantize(Decimal("0.01")):
        raise errors.ValidationFailed(
            "The markup is a percentage from 0 to 100.",
            fields={"markup_percent": "0 to 100."},
        )
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise errors.ValidationFailed(
            "Use a three-letter currency code.", fields={"currency": "e.g. EUR."}
        )
    money_places_check(value, currency, "amount", label="The amount")  # and an ISO currency
    if category not in ExpenseCategory.values:
        raise errors.ValidationFailed("Pick a category.", fields={"category": "Unknown."})
    kind = receipt_check(receipt) if receipt else None
    if kind:
        # Our own file name: the uploader's could carry paths or a misleading extension.
        receipt.name = f"{uuid.uuid4().hex}.{kind}"
    with transaction.atomic():
        expense = Expense.objects.create(
            person=person,
            project=project,
            date=date,
            amount=value,
            currency=currency,
            category=category,
            description=(description or "").strip()[:200],
            billable=billable,
            markup_percent=markup,
            receipt=receipt or "",
            # A claim is submitted as it is made: the project's manager (or finance) decides.
            status=EntryStatus.SUBMITTED,
        )
        audit_record(
            action="expense.created",
            obj=expense,
            actor=actor,
            after={"amount": str(value), "currency": currency, "category": category},
        )
    return expense


def expenses_decide(*, actor: Any, expense_ids: list[int], approve: bool, reason: str = "") -> int:
    """Approve (billable ones become billable work) or reject submitted expenses the actor
    may decide on; each decision is audited with its reason. Returns how many changed."""

    if not approve and not reason.strip():
        raise errors.ValidationFailed(
            "Say why the expense is rejected.", fields={"reason": "Required."}
        )
    status = EntryStatus.APPROVED if approve else EntryStatus.REJECTED
    with transaction.atomic():
        rows = list(
            expenses_pending(approver=actor)
            .select_for_update(of=("self",))
            .filter(pk__in=expense_ids)
        )
        if not rows:
            return 0
        Expense.objects.filter(pk__in=[e.pk for e in rows]).update(status=status)
        for e in rows:
            audit_record(
                action=f"expense.{status}",
                obj=e,
                actor=actor,
                reason=reason.strip(),
                before={"status": EntryStatus.SUBMITTED},
                after={"status": status},
            )
    return len(rows)


def expense_update(
    *,
    actor: Any,
    expense: Expense,
    date: dt.date | None = None,
    amount: object = None,
    currency: str | None = None,
    category: str | None = None,
    description: str | None = None,
    billable: bool | None = None,
    markup_percent: object = None,
    expected_etag: str | None = None,
) -> Expense:
    """Change your own draft (or rejected) expense; submitted ones are locked like time.

    ``expected_etag`` (If-Match) must name the expense as it is now (412 otherwise)."""

    if actor.pk != expense.person_id:
        raise errors.PermissionDenied("You can only change your own expenses.")
    with transaction.atomic():
        row = Expense.objects.select_for_update().get(pk=expense.pk)
        etag_require(row, expected_etag)
        if row.status not in (EntryStatus.DRAFT, EntryStatus.REJECTED):
            raise errors.Conflict(
                f"This expense is {row.get_status_display().lower()} and locked.",
                fields={"status": "Locked."},
            )
        before = {"amount": str(row.amount), "currency": row.currency, "category": row.category}
        fields = ["updated_at"]
        if date is not None:
            row.date = date
            fields.append("date")
        if amount is not None:
            value = _decimal(amount, "amount", label="The amount")
            if value <= 0 or value >= Decimal("1e10"):
                raise errors.ValidationFailed(
                    "The amount must be positive.",
                    fields={"amount": "A positive amount like 12.50."},
                )
            row.amount = value
            fields.append("amount")
        if currency is not None:
            code = currency.strip().upper()
            if len(code) != 3 or not code.isalpha() or not code.isascii():
                raise errors.ValidationFailed(
                    "Use a three-letter currency code.", fields={"currency": "e.g. EUR."}
                )
            row.currency = code
            fields.append("currency")
        if category is not None:
            if category not in ExpenseCategory.values:
                raise errors.ValidationFailed("Pick a category.", fields={"category": "Unknown."})
            row.category = category
            fields.append("category")
        if description is not None:
            row.description = description.strip()[:200]
            fields.append("description")
        if billable is not None:
            row.billable = billable
            fields.append("billable")
        if markup_percent is not None:
            markup = _decimal(markup_percent, "markup_percent", label="The markup")
            if not Decimal(0) <= markup <= Decimal(100) or markup != markup.quantize(
                Decimal("0.01")
            ):
                raise errors.ValidationFailed(
                    "The markup is a percentage from 0 to 100.",
                    fields={"markup_percent": "0 to 100."},
                )
            row.markup_percent = markup
            fields.append("markup_percent")
        money_places_check(row.amount, row.currency, "amount", label="The amount")
        row.save(update_fields=fields)
        audit_record(
            action="expense.updated", obj=row, actor=actor, before=before,
            after={"amount": str(row.amount), "currency": row.currency, "category": row.category},
        )  # fmt: skip
    return row
