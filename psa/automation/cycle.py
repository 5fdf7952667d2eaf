"""The zero-touch cycle: the scheduled jobs that move work to cash without a person.

Each job takes the day (or moment) explicitly — the tasks pass ``psa.kernel.clock`` — and a run
recorder; it calls the same services people use, decides per item by the automation policy
(psa.automation.policies), records every decision with its reason, and is safe to run twice or
concurrently: each effect is claimed (a conditional UPDATE, a row lock taken with SKIP LOCKED,
or a unique constraint) before it happens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q

from billing.models import OPEN, FeeKind, Invoice, InvoiceKind, InvoiceStatus, RecurringFee
from billing.services import (
    billing_run_execute,
    held_for_review_reason,
    invoice_issue,
    invoice_recipient,
    invoice_send,
)
from billing.services.overage import retainer_overage_accrue
from billing.services.recurring import revenue_recognise
from crm.models import Customer
from projects.models import Milestone, MilestoneStatus, Project
from projects.services import milestone_reach
from psa.automation.jobs import RunRecorder
from psa.automation.models import InvoicingCalendar
from psa.automation.policies import AUTOMATION, PolicyBook, invoicing_due
from psa.kernel.audit import audit_record
from psa.kernel.models import AuditEvent
from psa.kernel.money import money_text
from timesheets.models import EntryStatus, TimeEntry
from timesheets.selectors import week_start
from timesheets.services import week_auto_approve

# Jobs look back this far for work they may have missed (a worker down for a while).
LOOKBACK = dt.timedelta(days=60)
# Only recent invoices are e-mailed by policy: switching auto-send on never mails old ones.
SEND_WITHIN = dt.timedelta(days=7)


def _decided(obj: Any, action: str, reason: str) -> None:
    audit_record(action=action, obj=obj, actor_label=AUTOMATION, reason=reason)


def auto_approve(*, now: dt.datetime, run: RunRecorder) -> None:
    """Apply the approval policies to every submitted person-week."""

    pairs = sorted(
        {
            (person_id, week_start(day))
            for person_id, day in TimeEntry.objects.filter(status=EntryStatus.SUBMITTED)
            .values_list("person_id", "date")
            .distinct()
        }
    )
    people = get_user_model().objects.in_bulk({p for p, _ in pairs})
    book = PolicyBook()
    for person_id, monday in pairs:
        with run.item(f"person {person_id} week {monday}") as item:
            decisions = week_auto_approve(
                person=people[person_id],
                week_start=monday,
                now=now,
                automation_allows=lambda project: book.for_project(project).auto_approve,
            )
        if item.failed:
            continue
        person = people[person_id]
        for decision in decisions:
            if decision.approved:
                run.processed(decision.entries)
            else:
                run.waits_for_person(
                    f"{person}'s week of {monday:%d %b %Y} on {decision.project.code.upper()}",
                    "; ".join(decision.reasons),
                )


def release_milestones(*, today: dt.date, run: RunRecorder) -> None:
    """Mark planned milestones reached on their planned date where the policy says so."""

    due = list(
        Milestone.objects.filter(status=MilestoneStatus.PLANNED, planned_date__lte=today)
        .select_related("project")
        .order_by("planned_date", "id")
    )
    book = PolicyBook()
    for milestone in due:
        policy = book.for_project(milestone.project)
        if not policy.release_milestones:
            run.skipped()
            continue
        with run.item(f"milestone {milestone.pk}") as item, transaction.atomic():
            reached = milestone_reach(
                milestone=milestone, on=milestone.planned_date, actor_label=AUTOMATION
            )
            _decided(milestone, "automation.milestone_released", policy.why("release_milestones"))
        if item.failed:
            continue
        run.processed() if reached.status != MilestoneStatus.PLANNED else run.skipped()


def billing_calendar(*, today: dt.date, run: RunRecorder) -> None:
    """Bill each customer whose invoicing calendar falls today, through yesterday; and, for
    customers billed at project end, each of their projects that has ended. A project whose
    own policy sets another calendar (invoicing or day) is billed on that calendar alone and
    left out of its customer's and entity's runs. When every customer of a legal entity is
    due, one entity-wide run bills them all (one set-based run, not one per customer). The
    runs create drafts; ``issue_and_send`` issues what the policy allows."""

    book = PolicyBook()
    own = _own_calendars(book)
    customers = list(Customer.objects.select_related("legal_entity").order_by("id"))
    by_entity: dict[Any, list[Any]] = {}
    for customer in customers:
        by_entity.setdefault(customer.legal_entity, []).append(customer)
    for entity, members in by_entity.items():
        mine = [(p, policy) for p, policy in own if p.legal_entity_id == entity.pk]
        apart = tuple(p.pk for p, _ in mine)
        due, project_end = [], []
        for customer in members:
            policy = book.for_customer(customer)
            if invoicing_due(policy, today):
                due.append(customer)
            elif policy.invoicing == InvoicingCalendar.PROJECT_END:
                project_end.append(customer)
        scopes: list[dict[str, Any]] = (
            [{}] if due and len(due) == len(members) else [{"customer": c} for c in due]
        )
        ended = Project.objects.filter(
            customer__in=project_end, end_date__lt=today, end_date__gte=today - LOOKBACK
        ).exclude(pk__in=apart)
        scopes += [{"project": p} for p in ended.order_by("id")]
        scopes += [{"project": p} for p, policy in mine if _project_due(p, policy, today)]
        if not scopes:
            run.skipped(len(members))
        for scope in scopes:
            if scope:
                _bill(entity, scope, today, run, apart=apart)
            elif not _bill(entity, scope, today, run, record=False, apart=apart):
                # The entity-wide run failed as a whole (one set-based run, one transaction):
                # bill customer by customer, so a customer whose billing fails — recorded with
                # its reason — never keeps the others from being billed.
                for customer in due:
                    _bill(entity, {"customer": customer}, today, run, apart=apart)


def _calendar(policy: Any) -> tuple[str, int | None]:
    dated = policy.invoicing in (InvoicingCalendar.MONTHLY, InvoicingCalendar.WEEKLY)
    return policy.invoicing, (policy.invoice_day if dated else None)


def _own_calendars(book: PolicyBook) -> list[tuple[Project, Any]]:
    """The projects whose resolved calendar differs from their customer's: each with its
    policy."""
    ids = [pk for pk, row in book.projects.items() if row.invoicing or row.invoice_day]
    out = []
    for project in Project.objects.filter(pk__in=ids).order_by("id"):
        policy = book.for_project(project)
        customer = book.resolve(
            legal_entity_id=project.legal_entity_id, customer_id=project.customer_id
        )
        if _calendar(policy) != _calendar(customer):
            out.append((project, policy))
    return out


def _project_due(project: Project, policy: Any, today: dt.date) -> bool:
    if policy.invoicing == InvoicingCalendar.PROJECT_END:
        end = project.end_date
        return end is not None and today - LOOKBACK <= end < today
    return invoicing_due(policy, today)


def _bill(
    entity: Any,
    scope: dict[str, Any],
    today: dt.date,
    run: RunRecorder,
    *,
    record: bool = True,
    apart: tuple[int, ...] = (),
) -> bool:
    """One billing run; whether it went through. A failure is recorded on the job run unless
    ``record`` is off (a run the caller retries in parts). ``apart``: projects on a calendar
    of their own, which a customer's or entity's run leaves out."""
    with run.item(f"billing {entity.code} {scope or 'all customers'}", record=record) as item:
        billing = billing_run_execute(
            legal_entity=entity,
            period_end=today - dt.timedelta(days=1),
            actor_label=AUTOMATION,
            today=today,
            exclude_projects=() if "project" in scope else apart,
            **scope,
        )
    if item.failed:
        return False
    run.processed(billing.invoices_created) if billing.invoices_created else run.skipped()
    return True


def issue_and_send(*, today: dt.date, run: RunRecorder) -> None:
    """Issue the drafts automated runs created, where the policy allows (and the total is
    within the review limit), then e-mail issued invoices the policy sends. Each invoice is
    claimed with a row lock taken with SKIP LOCKED; a send is recorded in the same
    transaction, so a second worker finds it sent and does nothing."""

    book = PolicyBook()
    drafts = list(
        Invoice.objects.filter(
            status=InvoiceStatus.DRAFT,
            kind=InvoiceKind.INVOICE,
            billing_run__started_by__isnull=True,
        ).values_list("pk", "customer__name")
    )
    for pk, customer in drafts:
        # Named by its customer: the operations page says whose invoice could not be issued.
        with run.item(f"invoice {pk} of {customer}"):
            _issue_one(pk, book, today, run)
    # Open invoices, and invoices paid before they were e-mailed: 0.00 invoices settled at
    # issue and invoices a prepaid fund or credit paid in full (their e-mail is a receipt).
    to_send = list(
        Invoice.objects.filter(
            Q(status__in=OPEN) | Q(status=InvoiceStatus.PAID),
            kind=InvoiceKind.INVOICE,
            sent_at__isnull=True,
            issue_date__gte=today - SEND_WITHIN,
        ).values_list("pk", flat=True)
    )
    for pk in to_send:
        with run.item(f"invoice {pk}"):
            _send_one(pk, book, run)


def _issue_one(pk: int, book: PolicyBook, today: dt.date, run: RunRecorder) -> None:

    with transaction.atomic():
        invoice = _claim_invoice(pk, status=InvoiceStatus.DRAFT)
        if invoice is None:
            run.skipped()  # issued meanwhile, or another worker holds it
            return
        policy = book.resolve(
            legal_entity_id=invoice.legal_entity_id,
            customer_id=invoice.customer_id,
            project_id=invoice.project_id,
        )
        label = f"draft invoice {pk} for {invoice.customer}"
        if not policy.auto_issue:
            run.waits_for_person(label, f"Issued by a person: {policy.why('auto_issue')}.")
            return
        if invoice.total < 0:
            # Never issued by the cycle: what the customer is owed is a credit note.
            reason = held_for_review_reason(invoice)
            if not _noted(invoice, "invoice.held_for_review"):
                _decided(invoice, "invoice.held_for_review", reason)
            run.waits_for_person(label, reason)
            return
        if policy.review_above is not None and invoice.total > policy.review_above:
            reason = (
                f"Kept for review: total {money_text(invoice.total, invoice.currency)} "
                f"{invoice.currency} is above the review limit "
                f"{money_text(policy.review_above, invoice.currency)} "
                f"({policy.sources['review_above']})."
            )
            if not _noted(invoice, "automation.kept_for_review"):
                _decided(invoice, "automation.kept_for_review", reason)
            run.waits_for_person(label, reason)
            return
        issued = invoice_issue(invoice=invoice, actor_label=AUTOMATION, today=today)
        limit = (
            "no review limit"
            if policy.review_above is None
            else f"total within the review limit {money_text(policy.review_above, issued.currency)}"
        )
        _decided(issued, "automation.issued", f"{policy.why('auto_issue')}; {limit}.")
        run.processed()


def _send_one(pk: int, book: PolicyBook, run: RunRecorder) -> None:

    with transaction.atomic():
        invoice = _claim_invoice(pk, sent_at__isnull=True)
        if invoice is None or _noted(invoice, "invoice.send_requested"):
            run.skipped()  # sent, being sent, or another worker holds it
            return
        policy = book.resolve(
            legal_entity_id=invoice.legal_entity_id,
            customer_id=invoice.customer_id,
            project_id=invoice.project_id,
        )
        if not policy.auto_send:
            run.waits_for_person(
                f"invoice {invoice.number} to {invoice.customer}",
                f"Sent by a person: {policy.why('auto_send')}.",
            )
            return
        if not invoice_recipient(invoice):
            if not _noted(invoice, "automation.send_blocked"):
                _decided(
                    invoice,
                    "automation.send_blocked",
                    f"{invoice.customer} has no billing e-mail address: add one, then send.",
                )
            run.failed(f"invoice {invoice.number}", f"{invoice.customer} has no billing e-mail")
            return
        invoice_send(invoice=invoice, actor_label=AUTOMATION)
        _decided(invoice, "automation.sent", policy.why("auto_send") + ".")
        run.processed()


def _claim_invoice(pk: int, **still: Any) -> Any:
    """The invoice, locked until commit, if it is still as ``still`` says and no other worker
    holds it (SKIP LOCKED: the other worker is doing this very work)."""

    return (
        Invoice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("customer")
        .filter(pk=pk, **still)
        .first()
    )


def _noted(obj: Any, action: str) -> bool:

    return AuditEvent.objects.filter(
        object_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk), action=action
    ).exists()


def recognise_revenue(*, today: dt.date, run: RunRecorder) -> None:

    revenue_recognise(as_of=today, run=run)


def accrue_overage(*, today: dt.date, run: RunRecorder) -> None:
    """Accrue each retainer's unbilled overage of the periods that ended by yesterday, dated
    their last day (one item per retainer: one failing, e.g. a missing FX rate, never stops
    the others)."""

    fees = RecurringFee.objects.filter(
        kind=FeeKind.RETAINER, overage_rate__isnull=False, start_date__lt=today
    ).order_by("id")
    for fee in fees:
        with run.item(f"retainer {fee.pk}") as item:
            posted = retainer_overage_accrue(fee=fee, as_of=today)
        if not item.failed:
            run.processed() if posted else run.skipped()


# The day's jobs in the order a day runs them (the demo's clock advance runs them at once).
DAILY = (
    "auto-approve",
    "release-milestones",
    "billing-calendar",
    "issue-and-send",
    "recognise-revenue",
    "accrue-overage",
    "collect-due",
    "dunning",
)


def run_daily() -> list[tuple[str, dict[str, int]]]:
    """Run the day's jobs now, each recorded like a scheduled run, on the product's clock."""
    # Imported here: the tasks module imports this one (its thin tasks run these jobs).
    from psa.automation import tasks

    payments = {"collect-due": tasks.collect_due, "dunning": tasks.dunning_run}
    out = []
    for job in DAILY:
        if job in payments:
            out.append((job, payments[job]()))
        else:
            out.append((job, tasks._cycle(job, at_moment=job == "auto-approve")))
    return out
