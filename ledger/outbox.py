"""The integration outbox: messages to the firm's accounting system, delivered reliably.

A message is written in the same transaction as the business change (so it exists if and only
if the change committed) and delivered by a worker: HTTP POST of the JSON payload with an
``Idempotency-Key`` header and an ``X-Signature`` HMAC-SHA256 over the exact body. Failures are
retried with exponential backoff; after ``max_attempts`` the message is dead-lettered and shown
to finance, who can retry it. Messages are claimed with a conditional update, so two workers
never send the same message at the same time, and the HTTP call runs outside any transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ledger.models import (
    Integration,
    LegalEntity,
    OutboxAttempt,
    OutboxMessage,
    OutboxStatus,
)
from psa import correlation, errors
from psa.audit import audit_record
from psa.celery import enqueue_on_commit
from psa.roles import Role, require_role

log = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 6 * 3600
CLAIM_SECONDS = 120  # a crashed sender's claim expires and another worker takes over
HTTP_TIMEOUT_SECONDS = 15


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 60 s, 2 min, 4 min … capped at 6 h."""
    return dt.timedelta(
        seconds=min(BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    )


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
        from ledger.tasks import deliver_outbox_message

        enqueue_on_commit(deliver_outbox_message, message.pk)
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


def _claim(message_id: int, now: dt.datetime) -> bool:
    """Take the message for one delivery attempt; False if someone else has it or it's done."""
    return bool(
        OutboxMessage.objects.filter(pk=message_id, next_attempt_at__lte=now)
        .filter(status__in=[OutboxStatus.PENDING, OutboxStatus.DELIVERING])
        .exclude(status=OutboxStatus.DELIVERING, claimed_until__gt=now)
        .update(
            status=OutboxStatus.DELIVERING, claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS)
        )
    )


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}: {exc.read(500).decode('utf-8', 'replace')}"
    except (urllib.error.URLError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def outbox_deliver(*, message_id: int, now: dt.datetime | None = None) -> str:
    """One delivery attempt. Returns the message's status afterwards."""
    now = now or timezone.now()
    if not _claim(message_id, now):
        return "skipped"
    message = OutboxMessage.objects.select_related("legal_entity").get(pk=message_id)
    integration = Integration.objects.filter(legal_entity=message.legal_entity).first()
    if integration is None or not integration.endpoint_url:
        status, error = None, "No endpoint is configured for this legal entity."
        elapsed = 0
    else:
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "X-Signature": sign(body, integration.signing_secret),
            "X-Topic": message.topic,
            "X-Request-ID": message.correlation_id or correlation.get() or "",
        }
        started = time.monotonic()
        status, error = _post(integration.endpoint_url, body, headers)  # no transaction open
        elapsed = int((time.monotonic() - started) * 1000)
    delivered = status is not None and 200 <= status < 300
    max_attempts = integration.max_attempts if integration else 1
    with transaction.atomic():
        OutboxAttempt.objects.create(
            message=message, status_code=status, error=error[:2000], duration_ms=elapsed
        )
        attempts = message.attempts + 1
        if delivered:
            new_status, next_at = OutboxStatus.DELIVERED, message.next_attempt_at
        elif attempts >= max_attempts:
            new_status, next_at = OutboxStatus.DEAD, message.next_attempt_at
        else:
            new_status, next_at = OutboxStatus.PENDING, now + backoff(attempts)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=new_status,
            attempts=F("attempts") + 1,
            next_attempt_at=next_at,
            claimed_until=None,
            last_error="" if delivered else error[:2000],
            delivered_at=now if delivered else None,
        )
    if not delivered:
        log.warning("outbox %s attempt %s failed: %s", message.idempotency_key, attempts, error)
    return new_status


def outbox_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Messages whose next attempt is due (the beat job sends these)."""
    now = now or timezone.now()
    return list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ) + list(
        # Claims of crashed senders that expired.
        OutboxMessage.objects.filter(
            status=OutboxStatus.DELIVERING, claimed_until__lt=now
        ).values_list("pk", flat=True)[:limit]
    )


def outbox_retry(*, message: OutboxMessage, actor: Any) -> OutboxMessage:
    """Finance sends a failed or dead-lettered message again, now."""
    require_role(actor, Role.FINANCE)
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status == OutboxStatus.DELIVERED:
            raise errors.Conflict("This message was delivered already.", code="already_delivered")
        before = {"status": locked.status, "attempts": locked.attempts}
        locked.status = OutboxStatus.PENDING
        locked.next_attempt_at = timezone.now()
        # A dead-lettered message gets a fresh allowance of attempts.
        if message.status == OutboxStatus.DEAD:
            locked.attempts = 0
        locked.save(update_fields=["status", "next_attempt_at", "attempts"])
        audit_record(action="outbox.retried", obj=locked, actor=actor, before=before)
        from ledger.tasks import deliver_outbox_message

        enqueue_on_commit(deliver_outbox_message, locked.pk)
    return locked
