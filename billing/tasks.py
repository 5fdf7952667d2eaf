"""Thin tasks of billing.

The services queue these tasks (after commit), so the tasks import the services inside their
bodies: a module-level import would be a cycle (billing.services -> billing.tasks ->
billing.services).
"""

from __future__ import annotations

from celery import shared_task

from billing.models import Invoice


@shared_task(name="billing.tasks.render_invoice_pdf", ignore_result=True, max_retries=3)
def render_invoice_pdf(invoice_id: int) -> str:
    # inside the task: billing.services imports this module (see the module docstring)
    from billing.services.pdf import invoice_pdf_store

    invoice = Invoice.objects.select_related("legal_entity", "customer").get(pk=invoice_id)
    return invoice_pdf_store(invoice).pdf.name


def _retrying(task, exc: Exception) -> None:
    if task.request.retries >= task.max_retries:
        raise exc
    raise task.retry(exc=exc, countdown=min(60 * 2**task.request.retries, 3600)) from exc


@shared_task(
    bind=True, name="billing.tasks.process_stripe_event", ignore_result=True, max_retries=8
)
def process_stripe_event(self, event_id: str) -> None:
    """Process one inbox event; Stripe being unreachable is retried with backoff (and the
    sweep picks up whatever is still pending)."""
    # billing.services.stripe_events queues this task: imported here to break the cycle.
    from billing.services import gateway
    from billing.services.stripe_events import stripe_event_process

    try:
        stripe_event_process(event_id=event_id)
    except gateway.TRANSIENT_ERRORS as exc:
        _retrying(self, exc)
