"""Outbound webhooks: API clients subscribe to events and receive signed HTTP POSTs.

Services emit events in their own transaction (``webhooks_emit``); one delivery row per matching
subscription is written with them and sent after commit by psa.kernel.delivery: HMAC-signed, with an
Idempotency-Key, retried with backoff, dead-lettered, redelivered on request.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from psa.kernel import delivery, errors, outbound
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.models import User, WebhookAttempt, WebhookDelivery, WebhookSubscription
from psa.kernel.queue import nudge_on_commit
from psa.kernel.roles import Role, has_role

MAX_ATTEMPTS = 10

_WORK = (Role.PROJECT_MANAGER, Role.FINANCE)
_MONEY = (Role.FINANCE,)
# Each event, and the roles whose holders may subscribe to it (what they could see anyway).
EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lead.created": ("A lead arrived (web form, API or by hand).", _WORK),
    "timesheet.submitted": ("A person submitted a week.", _WORK),
    "timesheet.approved": ("A week was approved, by a person or by policy.", _WORK),
    "timesheet.rejected": ("A week was rejected with a reason.", _WORK),
    "journal.posted": ("A journal entry was posted to the books.", _MONEY),
    "invoice.issued": ("An invoice was issued.", _MONEY),
    "invoice.paid": ("An invoice was paid in full.", _MONEY),
    "payment.failed": ("A card payment failed.", _MONEY),
}


def _webhook_check(*, owner: User, url: str, events: list[str]) -> None:
    fields: dict[str, str] = {}
    refusal = outbound.url_refusal(url)
    if refusal:
        fields["url"] = refusal
    unknown = sorted(set(events) - EVENTS.keys())
    if unknown:
        fields["events"] = f"Unknown event(s): {', '.join(unknown)}."
    elif not events:
        fields["events"] = "Choose at least one event."
    else:
        refused = sorted(e for e in events if not has_role(owner, *EVENTS[e][1]))
        if refused:
            fields["events"] = f"Your roles do not allow: {', '.join(refused)}."
    if fields:
        raise errors.ValidationFailed("The webhook cannot be created.", fields=fields)


def webhook_subscribe(
    *, owner: User, url: str, events: list[str], description: str = ""
) -> WebhookSubscription:
    _webhook_check(owner=owner, url=url, events=events)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            owner=owner,
            url=url,
            events=sorted(set(events)),
            description=description[:200],
            secret="whsec_" + secrets.token_urlsafe(32),
        )
        audit_record(action="webhook.subscribed", obj=subscription, actor=owner,
                     after={"url": url, "events": subscription.events})  # fmt: skip
    return subscription


def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: Any,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    expected_etag: str | None = None,
) -> WebhookSubscription:
    """Change a subscription's address, events, description or pause it (owner only).

    ``expected_etag`` (If-Match) must name the subscription as it is now (412 otherwise)."""
    if subscription.owner_id != actor.pk:
        raise errors.NotFound("No such webhook.")
    with transaction.atomic():
        row = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        etag_require(row, expected_etag)
        before = {"url": row.url, "events": row.events, "is_active": row.is_active}
        changed: list[str] = []
        if url is not None:
            row.url, changed = url, [*changed, "url"]
        if events is not None:
            row.events, changed = sorted(set(events)), [*changed, "events"]
        if description is not None:
            row.description, changed = description[:200], [*changed, "description"]
        if is_active is not None:
            row.is_active, changed = is_active, [*changed, "is_active"]
        _webhook_check(owner=row.owner, url=row.url, events=row.events)
        row.save(update_fields=[*changed, "updated_at"])
        after = {"url": row.url, "events": row.events, "is_active": row.is_active}
        audit_record(action="webhook.updated", obj=row, actor=actor, before=before, after=after)
    return row


def webhook_unsubscribe(
    *, subscription: WebhookSubscription, actor: Any, expected_etag: str | None = None
) -> None:
    """Stop a subscription (owner only); ``expected_etag`` as in the update (412)."""
    if subscription.owner_id != actor.pk:
        raise errors.NotFound("No such webhook.")
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().filter(pk=subscription.pk)
        row = locked.first()
        if row is not None:
            etag_require(row, expected_etag)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            is_active=False, updated_at=timezone.now()
        )
        audit_record(action="webhook.unsubscribed", obj=subscription, actor=actor)


def webhooks_emit(*, event: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for every active subscriber, in the caller's transaction."""
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    # JSON containment in SQL: only the subscribers of this event are read.
    subscriptions = list(
        WebhookSubscription.objects.filter(
            is_active=True, owner__is_active=True, events__contains=[event]
        )
    )
    if not subscriptions:
        return 0
    event_id = f"evt_{uuid.uuid4().hex}"
    now = timezone.now()
    payload = {"id": event_id, "type": event, "created": now.isoformat(), "data": data}
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=s,
            event_id=event_id,
            topic=event,
            payload=payload,
            idempotency_key=f"wh-{s.pk}-{event_id}",
            next_attempt_at=now,
        )
        for s in subscriptions
    )
    # Imported here: the task module imports this one to deliver (a cycle within the kernel).
    from psa.kernel.tasks import deliver_webhook

    for row in rows:
        nudge_on_commit(deliver_webhook, row.pk)
    return len(rows)


def _target(row: WebhookDelivery) -> delivery.Target | None:
    sub = WebhookSubscription.objects.filter(pk=row.subscription_id, is_active=True).first()
    if sub is None:
        return None
    return delivery.Target(
        url=sub.url,
        secret=sub.secret,
        max_attempts=MAX_ATTEMPTS,
        headers={"X-Webhook-Event": row.topic, "X-Webhook-Id": row.event_id},
    )


def _log(row: WebhookDelivery, status: int | None, error: str, elapsed_ms: int) -> None:
    WebhookAttempt.objects.create(
        delivery=row, status_code=status, error=error, duration_ms=elapsed_ms
    )


def webhook_deliver(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    return delivery.deliver(
        model=WebhookDelivery, pk=delivery_id, target_for=_target, log_attempt=_log, now=now
    )


def webhooks_due(*, now: dt.datetime | None = None) -> list[int]:
    return delivery.due(WebhookDelivery, now=now)


def webhook_redeliver(*, row: WebhookDelivery, actor: Any) -> WebhookDelivery:
    """The subscriber asks for a failed or dead-lettered delivery to be sent again, now."""
    if row.subscription.owner_id != actor.pk:
        raise errors.NotFound("No such delivery.")
    retried = delivery.retry(
        model=WebhookDelivery, pk=row.pk, actor=actor, action="webhook.redelivered"
    )
    # Imported here: the task module imports this one to deliver (a cycle within the kernel).
    from psa.kernel.tasks import deliver_webhook

    nudge_on_commit(deliver_webhook, retried.pk)
    return retried
