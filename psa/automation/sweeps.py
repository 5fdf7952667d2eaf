"""The payment sweeps of the zero-touch cycle: autopay collection, stuck-attempt
reconciliation, dunning and the Stripe inbox.

Billing owns the per-item services (``attempt_start``/``attempt_send``, ``dunning_remind``,
``stripe_event_process``) and the selectors that find due items; this layer owns the loop, the
automation policy's decision per item and the job run that records processed, skipped and
failed. Each item is claimed by billing with a unique row (attempt, reminder, event id), so two
overlapping sweeps are harmless. One failing item is recorded (``RunRecorder.item``: counted,
logged with its traceback) and the sweep goes on to the next.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from billing.selectors import due
from billing.services import collect, dunning, stripe_events
from psa.automation.jobs import job_run
from psa.automation.policies import PolicyBook


def collect_due(*, today: dt.date) -> dict[str, int]:
    """Apply customer credit to open invoices, then charge every invoice due by ``today``
    whose customer consented to autopay: once, or again when a planned retry is due."""
    with job_run("collect-due") as run:
        collect.customer_credits_apply(actor_label="job:collect")
        book = PolicyBook()
        for invoice, charge_due in due.autopay_candidates(today=today):
            policy = book.for_invoice(invoice)
            if not policy.autopay:
                # The firm's automation policy keeps collection with people: say so.
                run.waits_for_person(
                    f"invoice {invoice.number} of {invoice.customer}",
                    f"Collected by a person: {policy.why('autopay')}.",
                )
                continue
            if not charge_due:
                run.skipped()  # stopped, waiting for the customer, or the retry is not due
                continue
            with run.item(str(invoice)) as item:
                attempt = collect.attempt_start(invoice=invoice)
                if attempt is not None:
                    collect.attempt_send(attempt=attempt, today=today)
            if item.failed:
                continue
            if attempt is None:
                run.skipped()
            else:
                run.processed()
    return run.counts


def attempts_reconcile(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-check attempts stuck in flight (lost webhook, unknown outcome)."""
    now = now or timezone.now()
    with job_run("reconcile-payment-attempts") as run:
        for attempt in due.attempts_stuck(now=now):
            with run.item(str(attempt)) as item:
                collect.attempt_recheck(attempt)
            if not item.failed:
                run.processed()
    return run.counts


def dunning_run(*, today: dt.date) -> dict[str, int]:
    """Send each open invoice the highest dunning level it has reached and not yet had."""
    with job_run("dunning") as run:
        book = PolicyBook()
        for invoice, level in due.dunning_due(today=today):
            if not book.for_invoice(invoice).dunning:
                run.skipped()  # the automation policy keeps reminders with people
                continue
            if level is None:
                run.skipped()
                continue
            with run.item(str(invoice)) as item:
                reminder = dunning.dunning_remind(invoice=invoice, level=level, today=today)
            if item.failed:
                continue
            if reminder is None:
                run.skipped()
            else:
                run.processed()
    return run.counts


def stripe_events_process_pending(*, limit: int = 200) -> dict[str, int]:
    """Process whatever the after-commit tasks did not (a worker died, Stripe was down)."""
    with job_run("stripe-events-pending") as run:
        for event_id in due.stripe_events_pending(limit=limit):
            with run.item(event_id) as item:
                stripe_events.stripe_event_process(event_id=event_id)
            if not item.failed:
                run.processed()
    return run.counts
