"""Reads of invoices, scoped to who may see them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse

from billing.models import Invoice, InvoiceLine, InvoiceStatus, TimeEntryBilling, WriteOff
from projects.selectors import entry_rate
from psa.kernel import errors
from psa.kernel.dates import date_from_text
from psa.kernel.money import round_money
from psa.kernel.roles import Role, has_role
from timesheets.models import EntryStatus, TimeEntry


def invoice_list_visible_to(user: Any) -> QuerySet[Invoice]:
    """Finance and admins see every invoice; nobody else sees invoices in the app."""
    if not has_role(user, Role.FINANCE):
        return Invoice.objects.none()
    return with_written_off(Invoice.objects.select_related("customer", "legal_entity", "project"))


def with_written_off(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Invoices annotated with what was written off of each (``Invoice.written_off_amount``),
    so a list shows "Written off" without a query per row."""
    total = (
        WriteOff.objects.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return qs.annotate(
        written_off_total=Coalesce(Subquery(total), Value(Decimal(0)), output_field=DecimalField())
    )


def invoice_get_for_user(user: Any, pk: int) -> Invoice:
    invoice = invoice_list_visible_to(user).filter(pk=pk).first()
    if invoice is None:
        raise errors.NotFound("No such invoice.")
    return invoice


def invoice_filter(qs: QuerySet[Invoice], params: dict[str, str], today: dt.date) -> QuerySet:
    """The invoice list page's filters; a value that is not what the form offers is a 400."""
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    if params.get("customer"):
        if not str(params["customer"]).isdigit():
            raise errors.ValidationFailed(
                "customer: not a customer.", fields={"customer": "Choose a customer."}
            )
        qs = qs.filter(customer_id=int(params["customer"]))
    if params.get("overdue"):
        qs = qs.filter(
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID], due_date__lt=today
        )
    if start := date_from_text(params.get("from"), "from"):
        qs = qs.filter(Q(issue_date__gte=start) | Q(issue_date__isnull=True))
    if end := date_from_text(params.get("to"), "to"):
        qs = qs.filter(issue_date__lte=end)
    return qs


def invoice_totals(qs: QuerySet[Invoice]) -> list[dict[str, Any]]:
    """Totals per currency of a filtered list, in one query."""
    return list(
        qs.order_by()
        .values("currency")
        .annotate(total=Sum("total"), paid=Sum("amount_paid"))
        .order_by("currency")
    )


def invoice_document(invoice: Invoice) -> dict[str, Any]:
    """Everything the PDF and the pay page show, lines grouped by project."""

    lines = list(invoice.lines.select_related("project").order_by("position"))
    groups: dict[str, list] = {}
    for ln in lines:
        groups.setdefault(ln.project.name if ln.project else "", []).append(ln)
    return {
        "invoice": invoice,
        "entity": invoice.legal_entity,
        "customer": invoice.customer,
        "groups": list(groups.items()),
        "tax_summary": tax_summary(invoice),
        # A 0.00 invoice is a receipt: no pay link, "Nothing to pay".
        "pay_url": None if invoice.nothing_to_pay else _pay_url(invoice),
        "nothing_to_pay": invoice.nothing_to_pay,
    }


def _pay_url(invoice: Invoice) -> str | None:
    """The customer's pay link, once the pay page exists (the payments area adds it)."""

    try:
        path = reverse("pay", kwargs={"token": invoice.pay_token})
    except NoReverseMatch:
        return None
    return f"{settings.PUBLIC_BASE_URL}{path}"


def approved_unbilled_time() -> QuerySet:
    """Approved, billable time that no active invoice line bills: never billed, or released by
    a credit note. (Released entries keep ``billed_at``: they stay frozen, yet may be billed
    again, so the link, not the timestamp, says whether time is billed.)"""

    active = TimeEntryBilling.objects.filter(time_entry=OuterRef("pk"), released_at__isnull=True)
    return TimeEntry.objects.filter(
        status="approved", billable=True, project__billing_model__in=TIME_BILLED_MODELS
    ).exclude(Exists(active))


# Billing models that bill time as it is worked (a retainer's fee and a fixed price's milestones
# cover their time; only a retainer's overage is billed from hours, per period).
TIME_BILLED_MODELS = ["time_and_materials", "prepaid_fund"]


def project_profitability(
    *, projects: QuerySet, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per project, for a period: invoiced net revenue against approved time, summed in SQL.

    Revenue is the net of every issued line (invoices and credit notes, so a voided invoice
    and its credit note cancel out) with an issue date in the period. Time is approved time
    dated in the period, valued at each entry's resolved rate (``entry_rate``) — the model has
    no separate cost rates, so this is the value of the work done, not a payroll cost.
    Three queries, whatever the number of projects.
    """

    rows = list(projects)
    ids = [p.pk for p in rows]
    money = DecimalField(max_digits=16, decimal_places=4)
    invoiced = dict(
        InvoiceLine.objects.filter(
            project_id__in=ids,
            invoice__issue_date__gte=start,
            invoice__issue_date__lte=end,
        )
        .exclude(invoice__status=InvoiceStatus.DRAFT)
        .order_by()
        .values("project_id")
        .annotate(net=Sum("net"))
        .values_list("project_id", "net")
    )
    time = {
        r["project_id"]: r
        for r in TimeEntry.objects.filter(
            project_id__in=ids, status=EntryStatus.APPROVED, date__gte=start, date__lte=end
        )
        .annotate(value=F("hours") * Coalesce(entry_rate(), Value(Decimal(0)), output_field=money))
        .order_by()
        .values("project_id")
        .annotate(hours=Sum("hours"), amount=Sum("value", output_field=money))
    }
    out = []
    for p in rows:
        revenue = invoiced.get(p.pk) or Decimal("0.00")
        t = time.get(p.pk, {})
        value = round_money(t.get("amount") or Decimal(0), p.currency)
        out.append({
            "project": p.code, "name": p.name, "customer_id": p.customer_id,
            "currency": p.currency, "invoiced_net": revenue,
            "approved_hours": t.get("hours") or Decimal("0.00"),
            "approved_time_value": value, "difference": revenue - value,
        })  # fmt: skip
    return out


def tax_summary(invoice: Invoice) -> list[dict[str, Any]]:
    """Tax per rate: the same rounded line taxes, grouped (so it always matches the total)."""
    summary: dict[Decimal, dict[str, Any]] = defaultdict(
        lambda: {"net": Decimal(0), "tax": Decimal(0)}
    )
    for ln in invoice.lines.all():
        row = summary[ln.tax_rate_value]
        row["net"] += ln.net
        row["tax"] += ln.tax
    return [{"rate": rate, **row} for rate, row in sorted(summary.items())]
