"""Thin tasks of the ledger: deliver one outbox message (the beat sweep that finds the due ones
is psa.automation.tasks.deliver_due_outbox)."""

from __future__ import annotations

from celery import shared_task

from ledger.outbox import outbox_deliver


@shared_task(name="ledger.tasks.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> str:
    return outbox_deliver(message_id=message_id)
