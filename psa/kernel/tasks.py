"""The kernel's task: deliver one outbound webhook (psa.kernel.webhooks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="psa.kernel.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    # Imported here: psa.kernel.webhooks enqueues this task, so a module-level import would
    # be circular within the kernel.
    from psa.kernel.webhooks import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="psa.kernel.tasks.send_mail_message", ignore_result=True)
def send_mail_message(message_id: int) -> str:
    """The fast path of the mail outbox: one attempt now. Retries are the row's (backoff,
    then the beat sweep), so this task never retries itself."""
    # Imported here: psa.kernel.mail enqueues this task, so a module-level import would be
    # circular within the kernel.
    from psa.kernel.mail import mail_send

    return mail_send(message_id=message_id)
