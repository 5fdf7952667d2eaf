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
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
)
from django.utils import timezone

from billing.models import (
    BillingRun,
    BillingRunStatus,
    BillingSettings,
    ExpenseBilling,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    MilestoneBilling,
    NumberSequence,
    ScheduleBilling,
    TaxRate,
    TimeEntryBilling,
)
from billing.services import sources
from crm.models import Customer, TaxTreatment
from ledger import rules
from ledger.models import LegalEntity
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.money import round_money

ZERO = Decimal(0)
REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient ({tax_id})."


# --- tax and rounding ------------------------------------------------------------------------


def tax_rates_for(
    *, legal_entity: LegalEntity, customers: dict[int, Customer]
) -> dict[int, TaxRate | None]:
    """The rate each customer's lines carry: the entity's default for domestic customers, none
    (0 %) for reverse-charge and exempt customers. One query, whatever the number of customers."""
    default = TaxRate.objects.filter(
        legal_entity=legal_entity, is_default=True, is_active=True
    ).first()
    return {
        pk: default if c.tax_treatment == TaxTreatment.DOMESTIC else None
        for pk, c in customers.items()
    }


def price_line(
    *, quantity: Decimal, unit_price: Decimal, rate: Decimal, currency: str
) -> tuple[Decimal, Decimal]:
    """(net, tax) of one line under the documented rounding rule (billing.models)."""
    net = round_money(quantity * unit_price, currency)
    return net, round_money(net * rate, currency)


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


def _unbilled_time(
    *, legal_entity: LegalEntity, period_end: dt.date, customer: Any = None, project: Any = None
) -> QuerySet:
    """Approved, billable time of T&M and prepaid-fund projects through ``period_end`` that no
    active link bills yet, each row annotated with its resolved hourly rate (in SQL)."""
    from billing.selectors import approved_unbilled_time
    from projects.selectors import entry_rate

    qs = approved_unbilled_time().filter(date__lte=period_end, project__legal_entity=legal_entity)
    if customer is not None:
        qs = qs.filter(project__customer=customer)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.annotate(rate=entry_rate())


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
    base = _unbilled_time(
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
    from projects.models import Project

    settings_row = _settings(legal_entity)
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
) -> BillingRun:
    """Create (and optionally issue) the invoices the preview shows, in one transaction.

    Safe to repeat and to run twice at once: the second run waits for the first (advisory lock
    per legal entity) and then finds everything already linked, so it creates nothing.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_BILLING, legal_entity.pk])
        run = BillingRun.objects.create(
            legal_entity=legal_entity,
            period_end=period_end,
            customer=customer,
            project=project,
            started_by=user,
            actor_label="" if user else (actor_label or "system"),
        )
        scope = sources.Scope(legal_entity, period_end, customer, project)
        groups = _snapshot(legal_entity, period_end, customer, project)
        preview = _build_preview(legal_entity, _candidates(scope, groups, lock=True), unpriced=0)
        invoices, links = _write_drafts(legal_entity, preview, run)
        linked = _link_time(links.pop("time", {}))
        _link_others(links)
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
        if issue:
            for invoice in invoices:
                invoice_issue(invoice=invoice, actor=actor, actor_label=actor_label, today=today)
    run.refresh_from_db()
    return run


_LOCK_BILLING = zlib.crc32(b"billing-run") & 0x7FFFFFFF


def _settings(legal_entity: LegalEntity) -> BillingSettings:
    row, _ = BillingSettings.objects.get_or_create(legal_entity=legal_entity)
    return row


_ACCRUES = {LineKind.TIME}  # lines that credit the WIP their time accrued at approval


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
                    accrued=ln.net if ln.kind in _ACCRUES else ZERO,
                    service_start=ln.service_start,
                    service_end=ln.service_end,
                    written_down_hours=ln.written_down_hours,
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


def _link_others(links: dict[str, Any]) -> None:
    """Link expenses, milestones and fee periods to their lines, in bulk. The partial unique
    indexes make a second active link impossible, so a concurrent run fails instead of
    billing twice."""
    ExpenseBilling.objects.bulk_create(
        ExpenseBilling(expense_id=pk, line_id=line) for pk, line in links["expense"]
    )
    MilestoneBilling.objects.bulk_create(
        MilestoneBilling(milestone_id=pk, line_id=line) for pk, line in links["milestone"]
    )
    ScheduleBilling.objects.bulk_create(
        ScheduleBilling(fee_id=fee, period_start=start, part=part, line_id=line)
        for (fee, start, part), line in links["schedule"]
    )


def _snapshot(
    legal_entity: LegalEntity, period_end: dt.date, customer: Any, project: Any
) -> list[tuple]:
    """Lock the entries this run bills and copy them, with their rates, to a temporary table;
    return their groups. Everything after works from this snapshot, so time approved while
    the run is under way waits for the next run instead of slipping onto a line unpriced."""
    entries = (
        _unbilled_time(
            legal_entity=legal_entity, period_end=period_end, customer=customer, project=project
        )
        .exclude(rate=None)
        .values(
            "id",
            "project_id",
            "project__customer_id",
            "project__currency",
            "project__billing_model",
            "rate",
            "hours",
        )
    )
    sql, params = entries.query.sql_with_params()
    with connection.cursor() as cur:
        # Several runs may share one transaction (the demo seed): start from a fresh table.
        cur.execute("DROP TABLE IF EXISTS billing_run_entries")
        cur.execute(
            "CREATE TEMP TABLE billing_run_entries (id bigint PRIMARY KEY, project_id bigint, "
            "customer_id bigint, currency varchar(3), billing_model varchar(20), rate numeric, "
            "hours numeric) ON COMMIT DROP"
        )
        cur.execute(
            f"INSERT INTO billing_run_entries {sql} FOR UPDATE OF timesheets_timeentry",
            params,
        )
        cur.execute(
            "SELECT customer_id, currency, project_id, billing_model, rate, sum(hours), count(*) "
            "FROM billing_run_entries GROUP BY customer_id, currency, project_id, billing_model, "
            "rate"
        )
        return cur.fetchall()


def _link_time(lines_by_key: dict[tuple[int, int, Decimal], int]) -> int:
    """One INSERT … SELECT links every snapshotted entry to its line; one UPDATE freezes the
    entries billed for the first time."""
    if not lines_by_key:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS billing_run_entries")
        return 0
    values = ", ".join(["(%s, %s, %s::numeric, %s)"] * len(lines_by_key))
    params = [
        v for (cust, proj, rate), line in lines_by_key.items() for v in (cust, proj, rate, line)
    ]
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO billing_timeentrybilling (time_entry_id, line_id)
            SELECT e.id, l.line_id
              FROM billing_run_entries e
              JOIN (VALUES {values}) AS l (customer_id, project_id, rate, line_id)
                ON l.customer_id = e.customer_id AND l.project_id = e.project_id
               AND l.rate = e.rate
            """,  # noqa: S608 - only placeholders are interpolated
            params,
        )
        linked = cur.rowcount
        cur.execute(
            "UPDATE timesheets_timeentry t SET billed_at = now() FROM billing_run_entries e "
            "WHERE t.id = e.id AND t.billed_at IS NULL"
        )
        cur.execute("DROP TABLE billing_run_entries")
    return linked


def _reverse_charge_note(customer: Customer) -> str:
    if customer.tax_treatment == TaxTreatment.REVERSE_CHARGE and customer.tax_id:
        return REVERSE_CHARGE_NOTE.format(tax_id=customer.tax_id)
    return ""


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
    settings_row = _settings(legal_entity)
    pattern = (
        settings_row.invoice_number_pattern
        if kind == InvoiceKind.INVOICE
        else settings_row.credit_note_number_pattern
    )
    return pattern.format(year=year, seq=number)


_PART_KIND = {
    LineKind.TIME: "time",
    LineKind.WRITE_DOWN: "time",  # a write-down nets into the time it caps
    LineKind.MILESTONE: "milestone",
    LineKind.RECURRING: "recurring",
    LineKind.FUND_TOP_UP: "prepayment",
}


def _parts(invoice: Invoice) -> tuple[rules.InvoicePart, ...]:
    """The invoice's lines as posting parts: one per project and treatment, so a write-down
    nets into the time it caps. A milestone's revenue is deferred until it is reached."""
    lines = list(invoice.lines.all())
    reached = _milestones_reached(invoice)
    sums: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for ln in lines:
        kind = _PART_KIND.get(ln.kind, "services")
        flag = reached.get(ln.position, True) if kind == "milestone" else True
        row = sums[(kind, ln.project_id, flag)]
        row[0] += ln.net
        row[1] += ln.tax
        row[2] += ln.accrued
    return tuple(
        rules.InvoicePart(
            kind=kind,
            net=abs(net),
            tax=abs(tax),
            accrued=abs(accrued),
            reached=flag,
            project_id=project_id,
        )
        for (kind, project_id, flag), (net, tax, accrued) in sums.items()
    )


def _milestones_reached(invoice: Invoice) -> dict[int, bool]:
    """Position → whether the milestone the line bills is reached (for a credit note: the
    milestone of the line at that position on the invoice it credits)."""
    from projects.models import MilestoneStatus

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
    today = today or timezone.localdate()
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
        if not locked.lines.exists():
            raise errors.ValidationFailed(
                "An invoice needs at least one line.", fields={"lines": "Empty."}
            )
        entity = locked.legal_entity
        rate = fx_rate_required(
            currency=locked.currency,
            functional=entity.functional_currency,
            on=today,
            purpose="the invoice cannot be booked",
        )
        locked.number = _next_number(entity, locked.kind, today.year)
        locked.status = InvoiceStatus.ISSUED
        locked.issue_date = today
        locked.due_date = today + dt.timedelta(days=locked.customer.payment_terms_days)
        locked.fx_rate = rate
        locked.issued_at = timezone.now()
        locked.save(
            update_fields=["number", "status", "issue_date", "due_date", "fx_rate", "issued_at"]
        )
        event_cls = (
            rules.CreditNoteIssued
            if locked.kind == InvoiceKind.CREDIT_NOTE
            else rules.InvoiceIssued
        )
        document = f"invoice:{locked.credits_id or locked.pk}"
        journal_post(
            legal_entity=entity,
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
        if locked.kind == InvoiceKind.INVOICE:
            _milestones_invoiced(locked)
            _fund_apply(locked, today=today, actor=actor, actor_label=actor_label)
        audit_record(
            action=f"{locked.kind}.issued",
            obj=locked,
            actor=actor,
            actor_label=actor_label,
            after={"number": locked.number, "total": locked.total, "due_date": locked.due_date},
        )
        _publish(locked)
        from billing.tasks import render_invoice_pdf
        from psa.kernel.queue import enqueue_on_commit
        from psa.kernel.webhooks import webhooks_emit

        enqueue_on_commit(render_invoice_pdf, locked.pk)
        if locked.kind == InvoiceKind.INVOICE:
            webhooks_emit(
                event="invoice.issued",
                data={
                    "invoice_id": locked.pk,
                    "number": locked.number,
                    "total": str(locked.total),
                    "currency": locked.currency,
                    "customer_id": locked.customer_id,
                },
            )
    return locked


def _milestones_invoiced(invoice: Invoice) -> None:
    """Reached milestones billed by this invoice are now invoiced (one that is not reached yet
    becomes invoiced when it is: ``milestone_reached_post``)."""
    from projects.models import Milestone, MilestoneStatus

    Milestone.objects.filter(
        status=MilestoneStatus.REACHED,
        billings__line__invoice=invoice,
        billings__released_at__isnull=True,
    ).update(status=MilestoneStatus.INVOICED)


def milestone_reached_post(*, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None:
    """A milestone just reached: if an issued invoice already billed it, its revenue was
    deferred — recognise it now (deferred → fixed-fee revenue) and mark it invoiced."""
    from projects.models import Milestone, MilestoneStatus

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
    if link is None:
        return
    invoice = link.line.invoice
    journal_post(
        legal_entity=invoice.legal_entity,
        event=rules.MilestoneReached(
            amount=link.line.net,
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


def fund_available(*, project_id: int, exclude_invoice: int | None = None) -> Decimal:
    """What a prepaid fund holds now: top-ups on issued invoices less what was applied."""
    from billing.models import FundApplication

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
        FundApplication.objects.filter(project_id=project_id).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return topped - applied


def _fund_apply(invoice: Invoice, *, today: dt.date, actor: Any, actor_label: str) -> None:
    """Draw each prepaid fund down against this invoice's draw-down lines (their gross), as far
    as the fund goes: posted (prepayments → receivable) and counted as paid. The project row is
    locked so two invoices cannot both spend the same balance."""
    from billing.models import FundApplication
    from projects.models import Project

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


def _publish(invoice: Invoice) -> None:
    """Tell the accounting system, in the modes that want invoices (ledger.outbox.MODE_TOPICS):
    "invoice line trigger" gets the lines; "invoice post" gets the customer and the document."""
    from ledger.outbox import integration_publish

    customer = invoice.customer
    lines = [
        {
            "position": ln.position,
            "kind": ln.kind,
            "description": ln.description,
            "quantity": str(ln.quantity),
            "unit_price": str(ln.unit_price),
            "net": str(ln.net),
            "tax_rate": str(ln.tax_rate_value),
            "tax": str(ln.tax),
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
        "subtotal": str(invoice.subtotal),
        "tax_total": str(invoice.tax_total),
        "total": str(invoice.total),
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
                service_start=ln.service_start,
                service_end=ln.service_end,
                written_down_hours=-ln.written_down_hours,
            )
            for ln in originals
        )
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
    return credit


def _recognised_by_line(line_ids: list[int]) -> dict[int, Decimal]:
    from billing.models import Recognition

    return dict(
        Recognition.objects.filter(line_id__in=line_ids)
        .values("line_id")
        .annotate(s=Sum("amount"))
        .values_list("line_id", "s")
    )


def _milestones_released(invoice: Invoice) -> None:
    """Milestones billed by a voided invoice may be billed again: invoiced → reached."""
    from projects.models import Milestone, MilestoneStatus

    Milestone.objects.filter(
        status=MilestoneStatus.INVOICED, billings__line__invoice=invoice
    ).update(status=MilestoneStatus.REACHED)


def invoice_totals_check(invoice: Invoice) -> bool:
    """The documented rounding rule holds: the invoice's figures are the sums of its lines."""
    gross = ExpressionWrapper(F("net") + F("tax"), output_field=DecimalField())
    agg = invoice.lines.aggregate(sum_net=Sum("net"), sum_tax=Sum("tax"), sum_gross=Sum(gross))
    return (
        (agg["sum_net"] or ZERO) == invoice.subtotal
        and (agg["sum_tax"] or ZERO) == invoice.tax_total
        and (agg["sum_gross"] or ZERO) == invoice.total
    )


def tax_summary(invoice: Invoice) -> list[dict[str, Any]]:
    """Tax per rate: the same rounded line taxes, grouped (so it always matches the total)."""
    summary: dict[Decimal, dict[str, Any]] = defaultdict(lambda: {"net": ZERO, "tax": ZERO})
    for ln in invoice.lines.all():
        row = summary[ln.tax_rate_value]
        row["net"] += ln.net
        row["tax"] += ln.tax
    return [{"rate": rate, **row} for rate, row in sorted(summary.items())]


def invoice_send(*, invoice: Invoice, actor: Any = None, actor_label: str = "") -> Invoice:
    """E-mail an issued invoice (or credit note) with its PDF to the customer, after commit.
    Sending again is a resend."""
    from billing.tasks import send_invoice_email
    from psa.kernel.queue import enqueue_on_commit

    if invoice.status == InvoiceStatus.DRAFT:
        raise errors.Conflict("Issue the invoice before sending it.", code="illegal_transition")
    if not invoice_recipient(invoice):
        raise errors.ValidationFailed(
            f"{invoice.customer} has no billing e-mail address.",
            fields={"billing_email": "Add one on the customer first."},
        )
    with transaction.atomic():
        audit_record(
            action="invoice.send_requested", obj=invoice, actor=actor, actor_label=actor_label
        )
        enqueue_on_commit(send_invoice_email, invoice.pk)
    return invoice


def invoice_recipient(invoice: Invoice) -> str:
    """The customer's billing address, else its billing contact's."""
    customer = invoice.customer
    if customer.billing_email:
        return customer.billing_email
    contact = customer.contacts.filter(is_billing_contact=True).exclude(email="").first()
    return contact.email if contact else ""
