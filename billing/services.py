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
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    NumberSequence,
    TaxRate,
    TimeEntryBilling,
)
from crm.models import Customer, TaxTreatment
from ledger import rules
from ledger.models import LegalEntity
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from psa import errors
from psa.audit import audit_record
from psa.money import round_money

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
    project_id: int
    project_name: str
    hours: Decimal
    rate: Decimal
    net: Decimal
    tax: Decimal
    entries: int


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
    """Approved, billable T&M time through ``period_end`` that no active link bills yet, each
    row annotated with its resolved hourly rate (in SQL)."""
    from billing.selectors import approved_unbilled_time
    from projects.models import BillingModel
    from projects.selectors import entry_rate

    qs = approved_unbilled_time().filter(
        date__lte=period_end,
        project__legal_entity=legal_entity,
        project__billing_model=BillingModel.TIME_AND_MATERIALS,
    )
    if customer is not None:
        qs = qs.filter(project__customer=customer)
    if project is not None:
        qs = qs.filter(project=project)
    return qs.annotate(rate=entry_rate())


def billing_run_preview(
    *, legal_entity: LegalEntity, period_end: dt.date, customer: Any = None, project: Any = None
) -> Preview:
    """What a run would bill: one grouped query, nothing written."""
    base = _unbilled_time(
        legal_entity=legal_entity, period_end=period_end, customer=customer, project=project
    )
    groups = (
        base.exclude(rate=None)
        .values("project_id", "project__customer_id", "project__currency", "rate")
        .annotate(hours=Sum("hours"), entries=Count("id"))
        .values_list(
            "project__customer_id", "project__currency", "project_id", "rate", "hours", "entries"
        )
    )
    return _build_preview(legal_entity, list(groups), unpriced=base.filter(rate=None).count())


def _build_preview(legal_entity: LegalEntity, groups: list[tuple], *, unpriced: int) -> Preview:
    """Invoices and priced lines from (customer, currency, project, rate, hours, entries)
    groups. Both the preview and the run price through here, so they always agree."""
    from projects.models import Project

    settings_row = _settings(legal_entity)
    customers = Customer.objects.in_bulk({g[0] for g in groups})
    projects = Project.objects.in_bulk({g[2] for g in groups})
    taxes = tax_rates_for(legal_entity=legal_entity, customers=customers)
    invoices: dict[tuple, PreviewInvoice] = {}
    for customer_id, currency, project_id, rate, hours, entries in sorted(
        groups, key=lambda g: (customers[g[0]].name, g[1], projects[g[2]].code, -g[3])
    ):
        key = (customer_id, currency, project_id if settings_row.invoice_per_project else None)
        inv = invoices.get(key)
        if inv is None:
            inv = invoices[key] = PreviewInvoice(
                customer_id, customers[customer_id].name, currency, key[2]
            )
        tax_rate = taxes[customer_id]
        net, tax = price_line(
            quantity=hours,
            unit_price=rate,
            rate=tax_rate.rate if tax_rate else ZERO,
            currency=currency,
        )
        inv.lines.append(
            PreviewLine(project_id, projects[project_id].name, hours, rate, net, tax, entries)
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
    per legal entity) and then finds the time already linked, so it creates nothing.
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
        groups = _snapshot(legal_entity, period_end, customer, project)
        preview = _build_preview(legal_entity, groups, unpriced=0)
        invoices, lines_by_key = _write_drafts(legal_entity, preview, run)
        linked = _link_time(lines_by_key)
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


def _write_drafts(
    legal_entity: LegalEntity, preview: Preview, run: BillingRun
) -> tuple[list[Invoice], dict[tuple[int, int, Decimal], int]]:
    """Bulk-create the draft invoices and their lines; map (invoice key, project, rate) → line."""
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
    keys: list[tuple[int, int, Decimal]] = []
    taxes = tax_rates_for(legal_entity=legal_entity, customers=customers)
    for draft, p in zip(drafts, preview.invoices, strict=True):
        tax_rate = taxes[p.customer_id]
        for position, ln in enumerate(p.lines, start=1):
            lines.append(
                InvoiceLine(
                    invoice=draft,
                    position=position,
                    kind=LineKind.TIME,
                    description=f"Professional services through {run.period_end:%d %b %Y}",
                    project_id=ln.project_id,
                    quantity=ln.hours,
                    unit_price=ln.rate,
                    net=ln.net,
                    tax_rate=tax_rate,
                    tax_rate_value=tax_rate.rate if tax_rate else ZERO,
                    tax=ln.tax,
                    accrued=ln.net,
                )
            )
            keys.append((p.customer_id, ln.project_id, ln.rate))
    created = InvoiceLine.objects.bulk_create(lines)
    return drafts, {key: line.pk for key, line in zip(keys, created, strict=True)}


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
        .values("id", "project_id", "project__customer_id", "project__currency", "rate", "hours")
    )
    sql, params = entries.query.sql_with_params()
    with connection.cursor() as cur:
        # Several runs may share one transaction (the demo seed): start from a fresh table.
        cur.execute("DROP TABLE IF EXISTS billing_run_entries")
        cur.execute(
            "CREATE TEMP TABLE billing_run_entries (id bigint PRIMARY KEY, project_id bigint, "
            "customer_id bigint, currency varchar(3), rate numeric, hours numeric) ON COMMIT DROP"
        )
        cur.execute(
            f"INSERT INTO billing_run_entries {sql} FOR UPDATE OF timesheets_timeentry",
            params,
        )
        cur.execute(
            "SELECT customer_id, currency, project_id, rate, sum(hours), count(*) "
            "FROM billing_run_entries GROUP BY customer_id, currency, project_id, rate"
        )
        return cur.fetchall()


def _link_time(lines_by_key: dict[tuple[int, int, Decimal], int]) -> int:
    """One INSERT … SELECT links every snapshotted entry to its line; one UPDATE freezes the
    entries billed for the first time."""
    if not lines_by_key:
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


def _parts(invoice: Invoice) -> tuple[rules.InvoicePart, ...]:
    kind_map = {
        LineKind.TIME: "time",
        LineKind.MILESTONE: "milestone",
        LineKind.RECURRING: "recurring",
    }
    return tuple(
        rules.InvoicePart(
            kind=kind_map.get(ln.kind, "services"),
            net=abs(ln.net),
            tax=abs(ln.tax),
            accrued=abs(ln.accrued),
            project_id=ln.project_id,
        )
        for ln in invoice.lines.all()
    )


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
        audit_record(
            action=f"{locked.kind}.issued",
            obj=locked,
            actor=actor,
            actor_label=actor_label,
            after={"number": locked.number, "total": locked.total, "due_date": locked.due_date},
        )
        _publish(locked)
        from billing.tasks import render_invoice_pdf
        from psa.celery import enqueue_on_commit
        from psa.webhooks import webhooks_emit

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
                accrued=-ln.accrued,
            )
            for ln in locked.lines.all()
        )
        released = TimeEntryBilling.objects.filter(
            line__invoice=locked, released_at__isnull=True
        ).update(released_at=timezone.now())
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
    from psa.celery import enqueue_on_commit

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
