"""Reliable HTTP delivery of messages to outside systems (the ledger's accounting outbox and
outbound webhooks share it).

A message row is written in the same transaction as the business change, so it exists if and
only if the change committed. A worker then sends it: HTTP POST of the JSON payload with an
``Idempotency-Key`` header (the receiver can drop a redelivery) and an ``X-Signature``
HMAC-SHA256 over the exact body. Failures are retried with exponential backoff; after the
target's ``max_attempts`` the message is dead-lettered and shown to a person, who can retry it.
Messages are claimed with a conditional update, so two workers never send one at the same
time; the HTTP call runs outside any transaction or lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from psa.kernel import correlation, errors, outbound
from psa.kernel.audit import audit_record
from psa.kernel.models import DeliveryStatus

log = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 6 * 3600
CLAIM_SECONDS = 120  # a crashed sender's claim expires and another worker takes over
HTTP_TIMEOUT_SECONDS = 10  # a slow receiver must not hold a worker (or a web request)


@dataclass(frozen=True)
class Target:
    url: str
    secret: str
    max_attempts: int
    headers: dict[str, str]


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 60 s, 2 min, 4 min … capped at 6 h."""
    seconds = BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _claim(model: type[models.Model], pk: int, now: dt.datetime) -> bool:
    """Take the message for one attempt; False if someone else has it, it is done, or not due."""
    return bool(
        model.objects.filter(pk=pk, next_attempt_at__lte=now)
        .filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.DELIVERING])
        .exclude(status=DeliveryStatus.DELIVERING, claimed_until__gt=now)
        .update(
            status=DeliveryStatus.DELIVERING,
            claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS),
        )
    )


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    # Guarded: no private, local or reserved addresses, no redirects, a short excerpt back.
    return outbound.post(url, body, headers, timeout=HTTP_TIMEOUT_SECONDS)


def deliver(
    *,
    model: type[models.Model],
    pk: int,
    target_for: Callable[[Any], Target | None],
    log_attempt: Callable[[Any, int | None, str, int], None],
    now: dt.datetime | None = None,
) -> str:
    """One delivery attempt of message ``pk``. Returns its status afterwards ("skipped" if it
    was not ours to send)."""
    now = now or timezone.now()
    if not _claim(model, pk, now):
        return "skipped"
    message = model.objects.get(pk=pk)
    target = target_for(message)
    elapsed = 0
    if target is None or not target.url:
        status, error = None, "No endpoint is configured."
    else:
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "X-Signature": sign(body, target.secret),
            "X-Topic": message.topic,
            "X-Request-ID": message.correlation_id or correlation.get() or "",
            **target.headers,
        }
        started = time.monotonic()
        status, error = _post(target.url, body, headers)
        elapsed = int((time.monotonic() - started) * 1000)
    delivered = status is not None and 200 <= status < 300
    attempts = message.attempts + 1
    if delivered:
        new_status, next_at = DeliveryStatus.DELIVERED, message.next_attempt_at
    elif attempts >= (target.max_attempts if target else 1):
        new_status, next_at = DeliveryStatus.DEAD, message.next_attempt_at
    else:
        new_status, next_at = DeliveryStatus.PENDING, now + backoff(attempts)
    with transaction.atomic():
        log_attempt(message, status, error[:2000], elapsed)
        model.objects.filter(pk=pk).update(
            status=new_status,
            attempts=F("attempts") + 1,
            next_attempt_at=next_at,
            claimed_until=None,
            last_error="" if delivered else error[:2000],
            delivered_at=now if delivered else None,
        )
    if not delivered:
        log.warning("delivery %s attempt %s failed: %s", message.idempotency_key, attempts, error)
    return new_status


def due(
    model: type[models.Model], *, now: dt.datetime | None = None, limit: int = 500
) -> list[int]:
    """Messages whose next attempt is due, and those whose sender crashed mid-attempt."""
    now = now or timezone.now()
    pending = model.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    stuck = model.objects.filter(status=DeliveryStatus.DELIVERING, claimed_until__lt=now)
    return [
        *pending.order_by("next_attempt_at").values_list("pk", flat=True)[:limit],
        *stuck.values_list("pk", flat=True)[:limit],
    ]


def retry(*, model: type[models.Model], pk: int, actor: Any, action: str) -> Any:
    """A person sends a failed or dead-lettered message again, now (caller checks the role)."""
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=pk)
        if locked.status == DeliveryStatus.DELIVERED:
            raise errors.Conflict("This message was delivered already.", code="already_delivered")
        before = {"status": locked.status, "attempts": locked.attempts}
        if locked.status == DeliveryStatus.DEAD:
            locked.attempts = 0  # a fresh allowance of attempts
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at", "attempts"])
        audit_record(action=action, obj=locked, actor=actor, before=before)
    return locked


def record_delivery(run: Any, pk: int, status: str) -> None:
    """Count one attempt's outcome on a job run (psa.automation.jobs)."""
    if status == DeliveryStatus.DELIVERED:
        run.processed()
    elif status == "skipped":
        run.skipped()
    else:
        run.failed(f"message {pk}", f"not delivered yet ({status})")
