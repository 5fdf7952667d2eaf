"""Housekeeping tasks on the beat schedule."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from psa.selectors import HEARTBEAT_KEY


@shared_task(name="psa.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Records that a worker consumed the beat's message: admins see it on the home page."""
    now = timezone.now()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now.isoformat()


@shared_task(name="psa.tasks.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions() -> None:
    from psa.jobs import job_run

    with job_run("clear-expired-sessions") as run:
        call_command("clearsessions")
        run.processed()


@shared_task(name="psa.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    from psa.webhooks import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="psa.tasks.deliver_due_webhooks", ignore_result=True)
def deliver_due_webhooks() -> int:
    """Beat: send every delivery whose retry is due (each is claimed, so overlap is safe)."""
    from psa.delivery import record_delivery
    from psa.jobs import job_run
    from psa.webhooks import webhook_deliver, webhooks_due

    with job_run("deliver-webhooks") as run:
        due = webhooks_due()
        for delivery_id in due:
            record_delivery(run, delivery_id, webhook_deliver(delivery_id=delivery_id))
    return len(due)
