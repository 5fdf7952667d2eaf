"""The integration outbox: messages to the firm's accounting system, delivered reliably by
psa.kernel.delivery (signed, idempotent, retried with backoff, dead-lettered, retried by
finance)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ledger.models import Integration, LegalEntity, OutboxAttempt, OutboxMessage
from psa.kernel import correlation, delivery
from psa.kernel.queue import nudge_on_commit
from psa.kernel.roles import Role, require_role

# Kept importable from here: tests and callers speak of the outbox's backoff and signature.
backoff = delivery.backoff
sign = delivery.sign


def outbox_enqueue(
    *, legal_entity: LegalEntity, topic: str, payload: dict[str, Any], key: str
) -> OutboxMessage:
    """Write a message in the caller's transaction; delivery starts after commit."""
    message, created = OutboxMessage.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "legal_entity": legal_entity,
            "topic": topic,
            "payload": payload,
            "next_attempt_at": timezone.now(),
            "correlation_id": correlation.get(),
        },
    )
    if created:
        # Imported here: ledger.tasks imports this module to deliver (a cycle within ledger).
        from ledger.tasks import deliver_outbox_message

        nudge_on_commit(deliver_outbox_message, message.pk)
    return message


# Which messages each integration mode sends (DOMAIN.md, "four modes").
MODE_TOPICS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "invoice_line_trigger": frozenset({"invoice.lines"}),
    "invoice_post": frozenset({"customer.upserted", "invoice.posted", "credit_note.posted"}),
    "journal_post": frozenset({"journal.posted"}),
}


def integration_publish(
    *, legal_entity: LegalEntity, topic: str, payload: dict[str, Any], key: str
) -> OutboxMessage | None:
    """Queue ``payload`` if the entity's integration mode sends this topic, else do nothing.

    Billing calls this when it issues an invoice (``invoice.lines`` / ``invoice.posted``) and
    the ledger when it posts (``journal.posted``); the mode decides what actually travels.
    """
    mode = (
        Integration.objects.filter(legal_entity=legal_entity).values_list("mode", flat=True).first()
    )
    if topic not in MODE_TOPICS.get(mode or "none", frozenset()):
        return None
    return outbox_enqueue(legal_entity=legal_entity, topic=topic, payload=payload, key=key)


def _target(message: OutboxMessage) -> delivery.Target | None:
    integration = Integration.objects.filter(legal_entity_id=message.legal_entity_id).first()
    if integration is None:
        return None
    return delivery.Target(
        url=integration.endpoint_url,
        secret=integration.signing_secret,
        max_attempts=integration.max_attempts,
        headers={},
    )


def _log(message: OutboxMessage, status: int | None, error: str, elapsed_ms: int) -> None:
    OutboxAttempt.objects.create(
        message=message, status_code=status, error=error, duration_ms=elapsed_ms
    )


def outbox_deliver(*, message_id: int, now: dt.datetime | None = None) -> str:
    """One delivery attempt. Returns the message's status afterwards."""
    return delivery.deliver(
        model=OutboxMessage, pk=message_id, target_for=_target, log_attempt=_log, now=now
    )


def outbox_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Messages whose next attempt is due (the beat job sends these)."""
    return delivery.due(OutboxMessage, now=now, limit=limit)


def outbox_retry(*, message: OutboxMessage, actor: Any) -> OutboxMessage:
    """Finance sends a failed or dead-lettered message again, now."""
    require_role(actor, Role.FINANCE)
    retried = delivery.retry(
        model=OutboxMessage, pk=message.pk, actor=actor, action="outbox.retried"
    )
    # Imported here: ledger.tasks imports this module to deliver (a cycle within ledger).
    from ledger.tasks import deliver_outbox_message

    nudge_on_commit(deliver_outbox_message, retried.pk)
    return retried
