"""Manual invoices: a draft with lines finance types in for a customer (work sold outside
time, milestones and fees). The lines are priced here by the one pricing rule
(``price_line``) with the customer's tax rate; the totals are their sums, never the
caller's. The draft is then issued like any other (``invoice_issue``)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.models import Invoice, InvoiceLine, LineKind
from billing.services.pricing import (
    ZERO,
    _reverse_charge_note,
    line_accounting,
    price_line,
    tax_rates_for,
)
from crm.models import Customer
from projects.models import Project
from psa.kernel import errors
from psa.kernel.audit import audit_record

MAX_LINES = 200
LIMIT = Decimal(10) ** 12  # what an amount column holds (15 digits, 3 decimals)


def _lines_check(customer: Customer, project: Project | None, lines: list[dict]) -> None:
    problems: dict[str, str] = {}
    if project is not None and project.customer_id != customer.pk:
        problems["project"] = "A project of another customer."
    if not lines:
        problems["lines"] = "At least one line."
    elif len(lines) > MAX_LINES:
        problems["lines"] = f"At most {MAX_LINES} lines."
    for i, line in enumerate(lines):
        if not str(line.get("description", "")).strip():
            problems[f"lines[{i}].description"] = "Required."
        if line["quantity"] <= 0:
            problems[f"lines[{i}].quantity"] = "Greater than zero."
        if line["unit_price"] < 0:
            problems[f"lines[{i}].unit_price"] = "Zero or more (credit with a credit note)."
        line_project = line.get("project")
        if line_project is not None and line_project.customer_id != customer.pk:
            problems[f"lines[{i}].project"] = "A project of another customer."
    if problems:
        raise errors.ValidationFailed("The invoice cannot be drafted.", fields=problems)


def invoice_draft_create(
    *, customer: Customer, lines: list[dict], actor: Any, project: Project | None = None
) -> Invoice:
    """A draft invoice in the customer's currency from its legal entity. ``lines``:
    ``{description, quantity, unit_price, taxable (default true), project, service_item}``;
    a taxable line carries the customer's rate (the entity's default for domestic customers,
    none for reverse charge and exempt)."""
    _lines_check(customer, project, lines)
    entity = customer.legal_entity
    currency = customer.currency
    tax_rate = tax_rates_for(legal_entity=entity, customers={customer.pk: customer})[customer.pk]
    rows: list[InvoiceLine] = []
    for position, line in enumerate(lines, start=1):
        rate = tax_rate if line.get("taxable", True) else None
        value = rate.rate if rate is not None else ZERO
        net, tax = price_line(quantity=line["quantity"], unit_price=line["unit_price"],
                              rate=value, currency=currency)  # fmt: skip
        line_project = line.get("project") or project
        rows.append(InvoiceLine(
            position=position, kind=LineKind.ADJUSTMENT,
            description=str(line["description"]).strip()[:300],
            project_id=line_project.pk if line_project else None,
            quantity=line["quantity"], unit_price=line["unit_price"], net=net,
            tax_rate=rate, tax_rate_value=value, tax=tax,
            **line_accounting(line.get("service_item")),
        ))  # fmt: skip
    subtotal = sum((r.net for r in rows), Decimal(0))
    tax_total = sum((r.tax for r in rows), Decimal(0))
    if subtotal + tax_total >= LIMIT:
        raise errors.ValidationFailed(
            "The invoice's total is too large.", fields={"lines": f"A total below {LIMIT:,}."}
        )
    with transaction.atomic():
        draft = Invoice.objects.create(
            legal_entity=entity, customer=customer, project=project, currency=currency,
            subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total,
            pay_token=secrets.token_urlsafe(24),
            reverse_charge_note=_reverse_charge_note(customer),
        )  # fmt: skip
        for row in rows:
            row.invoice = draft
        InvoiceLine.objects.bulk_create(rows)
        audit_record(action="invoice.drafted", obj=draft, actor=actor,
                     after={"customer": customer.pk, "total": str(draft.total),
                            "lines": len(rows)})  # fmt: skip
    return draft
