"""Billing: runs that turn approved work into invoices, issuing with gapless numbers, and
voiding by credit note.

A billing run is set-based: approved, unbilled time is aggregated in SQL per customer,
currency, project and rate; invoices, lines and the entry-to-line links are written in bulk.
Runs for one legal entity are serialised by a transaction-scoped advisory lock, and the partial
unique index on active links makes billing an entry twice impossible even without it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    Sum,
)
from django.utils import timezone

from billing.models import (
    BillingRun,
    BillingRunStatus,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxRate,
)
from billing.services import sources
from billing.services.issuing import held_for_review_reason, invoice_issue
from billing.services.pricing import (
    ZERO,
    _reverse_charge_note,
    billing_settings,
    line_accounting,
    price_line,
    tax_rates_for,
)
from billing.services.run_links import others_link, time_link, time_snapshot, unbilled_time
from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project, ServiceItem
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.locking import LockSpace, lock_keys

# --- billing run -----------------------------------------------------------------------------


@dataclass
class PreviewLine:
    kind: str
    project_id: int | None
    project_name: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    tax: Decimal
    entries: int = 0
    tax_rate: TaxRate | None = None
    service_start: dt.date | None = None
    service_end: dt.date | None = None
    written_down_hours: Decimal = ZERO
    link: tuple = ()
    accrued: Decimal = ZERO
    service_item_id: int | None = None

    @property
    def hours(self) -> Decimal:  # time lines: quantity is hours
        return self.quantity

    @property
    def rate(self) -> Decimal:
        return self.unit_price


@dataclass
class PreviewInvoice:
    customer_id: int
    customer_name: str
    currency: str
    project_id: int | None
    lines: list[PreviewLine] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.net for ln in self.lines), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((ln.tax for ln in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total


@dataclass
class Preview:
    invoices: list[PreviewInvoice]
    unpriced_entries: int  # approved time with no rate in force: cannot be billed

    @property
    def total_entries(self) -> int:
        return sum(ln.entries for inv in self.invoices for ln in inv.lines)


_TIME_GROUP = (
    "project__customer_id",
    "project__currency",
    "project_id",
    "project__billing_model",
    "rate",
)


def billing_run_preview(
    *, legal_entity: LegalEntity, period_end: dt.date, customer: Any = None, project: Any = None
) -> Preview:
    """What a run would bill, for every billing model: a few grouped queries, nothing written."""
    base = unbilled_time(
        legal_entity=legal_entity, period_end=period_end, customer=customer, project=project
    )
    groups = (
        base.exclude(rate=None)
        .values(*_TIME_GROUP)
        .annotate(hours=Sum("hours"), entries=Count("id"))
        .values_list(*_TIME_GROUP, "hours", "entries")
    )
    scope = sources.Scope(legal_entity, period_end, customer, project)
    candidates = _candidates(scope, list(groups), lock=False)
    return _build_preview(legal_entity, candidates, unpriced=base.filter(rate=None).count())


def _candidates(scope: sources.Scope, time_groups: list[tuple], *, lock: bool) -> list:
    """Every line the run bills, from each billing model's source. With ``lock``, the rows
    billed are locked until commit (the run's transaction)."""
    expenses = sources.unbilled_expenses(scope)
    milestones = sources.unbilled_milestones(scope)
    fees = sources.recurring_fees(scope)
    if lock:
        expenses = expenses.select_for_update(of=("self",))
        milestones = milestones.select_for_update(of=("self",))
    out = sources.time_candidates(scope, time_groups)
    out += sources.expense_candidates(list(expenses))
    out += sources.milestone_candidates(list(milestones))
    out += sources.recurring_candidates(scope, list(fees))
    terms = sources.fund_terms(scope)
    if terms:
        customers = Customer.objects.in_bulk({t.project.customer_id for t in terms})
        taxes = tax_rates_for(legal_entity=scope.legal_entity, customers=customers)
        drawn: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for c in out:
            if c.kind == LineKind.FUND_DRAWDOWN:
                tax_rate = taxes.get(c.customer_id)
                net, tax = price_line(
                    quantity=c.quantity,
                    unit_price=c.unit_price,
                    rate=tax_rate.rate if tax_rate else ZERO,
                    currency=c.currency,
                )
                drawn[c.project_id] += net + tax
        out += sources.fund_top_up_candidates(scope, drawn, terms)
    return out


def _build_preview(legal_entity: LegalEntity, candidates: list, *, unpriced: int) -> Preview:
    """Invoices of priced lines from the candidates: one invoice per customer and currency (and
    project, if the entity says so). Both the preview and the run price through here, so they
    always agree."""

    settings_row = billing_settings(legal_entity)
    customers = Customer.objects.in_bulk({c.customer_id for c in candidates})
    projects = Project.objects.in_bulk({c.project_id for c in candidates})
    taxes = tax_rates_for(legal_entity=legal_entity, customers=customers)
    order = {kind: i for i, kind in enumerate(sources.KIND_ORDER)}
    invoices: dict[tuple, PreviewInvoice] = {}
    for c in sorted(
        candidates,
        key=lambda c: (
            customers[c.customer_id].name,
            c.currency,
            projects[c.project_id].code,
            order[c.kind],
            c.sort,
        ),
    ):
        key = (
            c.customer_id,
            c.currency,
            c.project_id if settings_row.invoice_per_project else None,
        )
        inv = invoices.get(key)
        if inv is None:
            inv = invoices[key] = PreviewInvoice(
                c.customer_id, customers[c.customer_id].name, c.currency, key[2]
            )
        tax_rate = taxes[c.customer_id] if c.taxable else None
        net, tax = price_line(
            quantity=c.quantity,
            unit_price=c.unit_price,
            rate=tax_rate.rate if tax_rate else ZERO,
            currency=c.currency,
        )
        inv.lines.append(
            PreviewLine(
                kind=c.kind,
                project_id=c.project_id,
                project_name=projects[c.project_id].name,
                description=c.description,
                quantity=c.quantity,
                unit_price=c.unit_price,
                net=net,
                tax=tax,
                entries=c.entries,
                tax_rate=tax_rate,
                service_start=c.service_start,
                service_end=c.service_end,
                written_down_hours=c.written_down_hours,
                link=c.link,
                accrued=c.accrued,
                service_item_id=c.service_item_id,
            )
        )
    return Preview(invoices=list(invoices.values()), unpriced_entries=unpriced)


def billing_run_execute(
    *,
    legal_entity: LegalEntity,
    period_end: dt.date,
    customer: Any = None,
    project: Any = None,
    actor: Any = None,
    actor_label: str = "",
    issue: bool = False,
    today: dt.date | None = None,
    exclude_projects: tuple[int, ...] = (),
) -> BillingRun:
    """Create (and optionally issue) the invoices the preview shows, in one transaction.

    ``exclude_projects``: projects the run leaves alone (billed on a calendar of their own).
    Safe to repeat and to run twice at once: the second run waits for the first (advisory lock
    per legal entity) and then finds everything already linked, so it creates nothing.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        # One run per legal entity at a time: the second waits, then finds everything linked.
        lock_keys(LockSpace.BILLING_RUN, legal_entity.pk)
        run = BillingRun.objects.create(
            legal_entity=legal_entity,
            period_end=period_end,
            customer=customer,
            project=project,
            started_by=user,
            actor_label="" if user else (actor_label or "system"),
        )
        scope = sources.Scope(legal_entity, period_end, customer, project, exclude_projects)
        groups = time_snapshot(legal_entity, period_end, customer, project, exclude_projects)
        preview = _build_preview(legal_entity, _candidates(scope, groups, lock=True), unpriced=0)
        invoices, links = _write_drafts(legal_entity, preview, run)
        linked = time_link(links.pop("time", {}))
        others_link(links)
        BillingRun.objects.filter(pk=run.pk).update(
            status=BillingRunStatus.DONE,
            finished_at=timezone.now(),
            invoices_created=len(invoices),
            entries_billed=linked,
        )
        audit_record(
            action="billing_run.executed",
            obj=run,
            actor=actor,
            actor_label=actor_label,
            after={"invoices": len(invoices), "entries": linked, "period_end": period_end},
        )
        held = _hold_negative(invoices, actor=actor, actor_label=actor_label)
        if issue:
            issuable = [invoice for invoice in invoices if invoice not in held]
            _issue_each(run, issuable, actor=actor, actor_label=actor_label, today=today)
    run.refresh_from_db()
    return run


def _issue_each(
    run: BillingRun, invoices: list[Invoice], *, actor: Any, actor_label: str, today: Any
) -> None:
    """Issue the run's drafts one by one, each in its own savepoint: one that cannot be issued
    (no FX rate for its currency, say) stays a draft with its reason on the run and in the
    audit trail, and every other customer is still invoiced."""
    failures = []
    for invoice in invoices:
        try:
            with transaction.atomic():
                invoice_issue(invoice=invoice, actor=actor, actor_label=actor_label, today=today)
        except errors.DomainError as exc:
            reason = str(exc)
            failures.append(
                {"invoice": invoice.pk, "customer": str(invoice.customer), "reason": reason}
            )
            audit_record(
                action="invoice.issue_failed", obj=invoice, actor=actor,
                actor_label=actor_label, reason=reason[:300],
            )  # fmt: skip
    if failures:
        BillingRun.objects.filter(pk=run.pk).update(issue_failures=failures)


def _hold_negative(invoices: list[Invoice], *, actor: Any, actor_label: str) -> list[Invoice]:
    """Drafts whose total is below zero (write-downs or credits outweigh the charges): never
    issued by a run, held for a person to review, with the reason in the audit trail."""
    held = [invoice for invoice in invoices if invoice.total < 0]
    for invoice in held:
        audit_record(
            action="invoice.held_for_review",
            obj=invoice,
            actor=actor,
            actor_label=actor_label,
            reason=held_for_review_reason(invoice),
        )
    return held


def _write_drafts(
    legal_entity: LegalEntity, preview: Preview, run: BillingRun
) -> tuple[list[Invoice], dict[str, Any]]:
    """Bulk-create the draft invoices and their lines. Returns the drafts and, per link kind,
    what each line bills: {"time": {(customer, project, rate): line}, "expense": [(id, line)],
    "milestone": [...], "schedule": [((fee, period start, part), line)]}."""
    customers = {
        c.pk: c for c in Customer.objects.filter(pk__in={p.customer_id for p in preview.invoices})
    }
    drafts = Invoice.objects.bulk_create(
        Invoice(
            legal_entity=legal_entity,
            customer_id=p.customer_id,
            project_id=p.project_id,
            currency=p.currency,
            period_end=run.period_end,
            billing_run=run,
            subtotal=p.subtotal,
            tax_total=p.tax_total,
            total=p.total,
            pay_token=secrets.token_urlsafe(24),
            reverse_charge_note=_reverse_charge_note(customers[p.customer_id]),
        )
        for p in preview.invoices
    )
    items = ServiceItem.objects.in_bulk(
        {ln.service_item_id for p in preview.invoices for ln in p.lines} - {None}
    )
    lines: list[InvoiceLine] = []
    specs: list[tuple[int, tuple]] = []
    for draft, p in zip(drafts, preview.invoices, strict=True):
        for position, ln in enumerate(p.lines, start=1):
            lines.append(
                InvoiceLine(
                    invoice=draft,
                    position=position,
                    kind=ln.kind,
                    description=ln.description,
                    project_id=ln.project_id,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    net=ln.net,
                    tax_rate=ln.tax_rate,
                    tax_rate_value=ln.tax_rate.rate if ln.tax_rate else ZERO,
                    tax=ln.tax,
                    # Time: its entries' accruals, set when they are linked; overage: what
                    # its period-end accrual posted and no line relieved yet.
                    accrued=ln.accrued,
                    service_start=ln.service_start,
                    service_end=ln.service_end,
                    written_down_hours=ln.written_down_hours,
                    **line_accounting(items.get(ln.service_item_id)),
                )
            )
            specs.append((p.customer_id, ln.project_id, ln.link))
    created = InvoiceLine.objects.bulk_create(lines)
    links: dict[str, Any] = {"time": {}, "expense": [], "milestone": [], "schedule": []}
    for (customer_id, project_id, link), line in zip(specs, created, strict=True):
        if not link or link[0] == "fund_top_up":
            continue
        if link[0] == "time":
            links["time"][(customer_id, project_id, link[1])] = line.pk
        else:
            links[link[0]].append((link[1:] if link[0] == "schedule" else link[1], line.pk))
    return drafts, links
