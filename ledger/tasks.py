"""Thin tasks of the ledger: deliver the outbox."""

from __future__ import annotations

from celery import shared_task

from ledger.outbox import outbox_deliver, outbox_due


@shared_task(name="ledger.tasks.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> str:
    return outbox_deliver(message_id=message_id)


@shared_task(name="ledger.tasks.deliver_due_outbox", ignore_result=True)
def deliver_due_outbox() -> int:
    """Beat: send every message whose retry is due (each is claimed, so overlap is safe)."""
    from psa.automation.jobs import job_run
    from psa.kernel.delivery import record_delivery

    with job_run("deliver-outbox") as run:
        due = outbox_due()
        for message_id in due:
            record_delivery(run, message_id, outbox_deliver(message_id=message_id))
    return len(due)
