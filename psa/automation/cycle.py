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

from billing.models import OPEN, Invoice, InvoiceKind, InvoiceStatus
from billing.services import (
    billing_run_execute,
    held_for_review_reason,
    invoice_issue,
    invoice_recipient,
    invoice_send,
)
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
        approved = sum(d.entries for d in decisions if d.approved)
        run.processed(approved) if approved else run.skipped()


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
    customers billed at project end, each of their projects that has ended. When every
    customer of a legal entity is due, one entity-wide run bills them all (one set-based run,
    not one per customer). The runs create drafts; ``issue_and_send`` issues what the policy
    allows."""

    book = PolicyBook()
    customers = list(Customer.objects.select_related("legal_entity").order_by("id"))
    by_entity: dict[Any, list[Any]] = {}
    for customer in customers:
        by_entity.setdefault(customer.legal_entity, []).append(customer)
    for entity, members in by_entity.items():
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
        ).order_by("id")
        scopes += [{"project": p} for p in ended]
        if not scopes:
            run.skipped(len(members))
        for scope in scopes:
            if scope:
                _bill(entity, scope, today, run)
            elif not _bill(entity, scope, today, run, record=False):
                # The entity-wide run failed as a whole (one set-based run, one transaction):
                # bill customer by customer, so a customer whose billing fails — recorded with
                # its reason — never keeps the others from being billed.
                for customer in due:
                    _bill(entity, {"customer": customer}, today, run)


def _bill(
    entity: Any, scope: dict[str, Any], today: dt.date, run: RunRecorder, *, record: bool = True
) -> bool:
    """One billing run; whether it went through. A failure is recorded on the job run unless
    ``record`` is off (a run the caller retries in parts)."""
    with run.item(f"billing {entity.code} {scope or 'all customers'}", record=record) as item:
        billing = billing_run_execute(
            legal_entity=entity,
            period_end=today - dt.timedelta(days=1),
            actor_label=AUTOMATION,
            today=today,
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
    # Open invoices, and 0.00 invoices settled at issue (their e-mail is a receipt).
    to_send = list(
        Invoice.objects.filter(
            Q(status__in=OPEN) | Q(status=InvoiceStatus.PAID, total=0),
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
        if not policy.auto_issue:
            run.skipped()
            return
        if invoice.total < 0:
            # Never issued by the cycle: what the customer is owed is a credit note.
            if not _noted(invoice, "invoice.held_for_review"):
                _decided(invoice, "invoice.held_for_review", held_for_review_reason(invoice))
            run.skipped()
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
            run.skipped()
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
            run.skipped()
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


# The day's jobs in the order a day runs them (the demo's clock advance runs them at once).
DAILY = (
    "auto-approve",
    "release-milestones",
    "billing-calendar",
    "issue-and-send",
    "recognise-revenue",
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
