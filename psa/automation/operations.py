"""The operations page's reads: jobs and their next runs, backlogs, failed deliveries, queues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import redis
from celery import current_app
from celery.schedules import schedule as every
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Sum

from billing.models import OPEN, Invoice, InvoiceKind, InvoiceStatus
from billing.selectors import approved_unbilled_time
from ledger.models import OutboxMessage
from projects.selectors import entry_rate
from psa.automation.cycle import SEND_WITHIN
from psa.automation.models import JobRun
from psa.automation.policies import PolicyBook
from psa.automation.selectors import HEARTBEAT_KEY
from psa.kernel.models import AuditEvent, DeliveryStatus, WebhookDelivery
from psa.kernel.ratelimit import CACHE_ERRORS
from timesheets import selectors as time_selectors


def jobs_overview(now: dt.datetime) -> list[dict[str, Any]]:
    """Each job of the beat schedule with its last recorded run and when it runs next."""
    # The app configured by the site (psa.celery), found without importing the site: the
    # automation layer sits below it.
    app = current_app
    latest = {
        run.job: run for run in JobRun.objects.order_by("job", "-started_at", "-id").distinct("job")
    }
    rows = []
    for name, entry in sorted(app.conf.beat_schedule.items()):
        sched = entry["schedule"]
        if isinstance(sched, int | float):
            sched = every(dt.timedelta(seconds=sched))
        last = latest.get(name)
        last_at = last.started_at if last else None
        if name == "worker-heartbeat":
            try:
                last_at = cache.get(HEARTBEAT_KEY)
            except CACHE_ERRORS:  # cache down: "no heartbeat", not a 500
                last_at = None
        reference = last_at or now
        rows.append(
            {
                "job": name,
                "task": entry["task"],
                "last": last,
                "last_at": last_at,
                "next_at": now + max(sched.remaining_estimate(reference), dt.timedelta(0)),
            }
        )
    return rows


def queue_depth() -> dict[str, Any]:
    """Messages waiting in the Celery queue on the broker (Redis)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    try:
        return {"celery": client.llen("celery"), "error": ""}
    except redis.RedisError as exc:
        return {"celery": None, "error": str(exc)}
    finally:
        client.close()


def unbilled_approved_time() -> list[dict[str, Any]]:
    """Approved billable time not yet on an invoice, per legal entity and currency."""

    value = ExpressionWrapper(
        F("hours") * entry_rate(), output_field=DecimalField(max_digits=16, decimal_places=4)
    )
    # The per-entry value is annotated first, then summed: Django aggregates over a
    # subquery annotation, not over an expression that contains one.
    return list(
        approved_unbilled_time()
        .annotate(entry_value=value)
        .values("project__legal_entity__name", "project__currency")
        .annotate(
            hours=Sum("hours"), value=Sum("entry_value"), oldest=Min("date"), entries=Count("id")
        )
        .order_by("project__legal_entity__name", "project__currency")
    )


def failed_deliveries(now: dt.datetime) -> dict[str, Any]:
    """Accounting-outbox messages and webhook deliveries that did not get through."""

    outbox = list(
        OutboxMessage.objects.filter(attempts__gt=0)
        .exclude(status=DeliveryStatus.DELIVERED)
        .select_related("legal_entity")
        .order_by("created_at")[:50]
    )
    for message in outbox:
        message.age = now - message.created_at
    webhooks = WebhookDelivery.objects.filter(attempts__gt=0).exclude(
        status=DeliveryStatus.DELIVERED
    )
    return {
        "outbox": outbox,
        "webhooks_failing": webhooks.count(),
        "webhooks_dead": webhooks.filter(status=DeliveryStatus.DEAD).count(),
    }


def total(rows: list[dict[str, Any]], key: str) -> Decimal:
    return sum((row[key] or Decimal(0) for row in rows), Decimal(0))


def drafts_awaiting_review(now: dt.datetime) -> list[Any]:
    """Draft invoices nobody has issued yet, each with why it waits: kept by the review limit,
    held (a negative total), made by hand, or auto-issue off."""

    drafts = list(
        Invoice.objects.filter(status=InvoiceStatus.DRAFT, kind=InvoiceKind.INVOICE)
        .select_related("customer", "legal_entity", "billing_run")
        .order_by("created_at")[:50]
    )
    noted = _reasons(drafts, ("automation.kept_for_review", "invoice.held_for_review"))
    book = PolicyBook()
    for invoice in drafts:
        invoice.age = now - invoice.created_at
        policy = book.for_invoice(invoice)
        if invoice.pk in noted:
            invoice.reason = noted[invoice.pk]
        elif invoice.billing_run is None or invoice.billing_run.started_by_id is not None:
            invoice.reason = "Made by a person: a person issues it."
        elif not policy.auto_issue:
            invoice.reason = f"Issued by a person: {policy.why('auto_issue')}."
        else:
            invoice.reason = "The next issue-and-send run issues it."
    return drafts


def invoices_not_sent(now: dt.datetime) -> list[Any]:
    """Issued invoices still open that nobody has e-mailed, with why."""

    unsent = list(
        Invoice.objects.filter(status__in=OPEN, kind=InvoiceKind.INVOICE, sent_at__isnull=True)
        .select_related("customer", "legal_entity")
        .order_by("issue_date", "id")[:50]
    )
    noted = _reasons(unsent, ("automation.send_blocked",))
    book = PolicyBook()
    for invoice in unsent:
        invoice.age = now - invoice.created_at
        policy = book.for_invoice(invoice)
        if invoice.pk in noted:
            invoice.reason = noted[invoice.pk]
        elif not policy.auto_send:
            invoice.reason = f"Sent by a person: {policy.why('auto_send')}."
        elif invoice.issue_date < now.date() - SEND_WITHIN:
            invoice.reason = (
                f"Issued before the last {SEND_WITHIN.days} days: never sent by policy."
            )
        else:
            invoice.reason = "The next issue-and-send run e-mails it."
    return unsent


def weeks_awaiting_approval(now: dt.datetime) -> list[dict[str, Any]]:
    """Submitted weeks per person and project, with the rule that stopped them and their age."""

    weeks = time_selectors.weeks_awaiting_approval(now=now)
    for week in weeks:
        week["reason"] = week["reason"] or "Not checked yet: the next auto-approve run decides."
    return weeks


def _reasons(objs: list[Any], actions: tuple[str, ...]) -> dict[int, str]:
    """The latest recorded reason of one of ``actions`` on each object."""
    if not objs:
        return {}
    events = (
        AuditEvent.objects.filter(
            object_type=ContentType.objects.get_for_model(objs[0]),
            object_id__in=[str(o.pk) for o in objs],
            action__in=actions,
        )
        .order_by("object_id", "-created_at", "-id")
        .distinct("object_id")
        .values_list("object_id", "reason")
    )
    return {int(pk): reason for pk, reason in events}


def awaiting_posting() -> list[dict[str, Any]]:
    """Messages for the accounting system not delivered yet, per legal entity and topic."""

    return list(
        OutboxMessage.objects.exclude(status=DeliveryStatus.DELIVERED)
        .values("legal_entity__name", "topic")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by("legal_entity__name", "topic")
    )
