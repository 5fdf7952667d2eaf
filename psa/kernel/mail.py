"""The durable mail outbox: every e-mail the product sends is a row of ``MailMessage``.

Exactly once, never lost:

- **Written with the business change.** ``mail_enqueue`` runs in the caller's transaction, so
  the message exists if and only if the change (issuing, a dunning reminder, a Send click)
  committed. Its unique key (``invoice:42:send``) makes a second request for the same message
  find the row instead of queueing a second e-mail.
- **Claimed with SKIP LOCKED, marked sent with the document.** A sender locks one due row with
  ``SELECT … FOR UPDATE SKIP LOCKED``, builds the e-mail (the renderer the owning area
  registered renders the PDF now, from the document as it is), hands it to the SMTP server and,
  as soon as the server accepted it, marks the row delivered and lets the renderer stamp the
  document (``Invoice.sent_at``) in that same transaction. The lock is on the outbox row only
  (the document row is touched after the SMTP server answered), and it is what makes a crashed
  sender harmless: PostgreSQL ends a dead worker's session, the lock goes with it and the row
  is due again at once, with no claim to expire. A second sender skips a locked row, so two
  workers never talk SMTP about the same message.
- **Retried, then given up visibly.** An SMTP error (refused, disconnected mid-DATA, timeout)
  records the error and plans the next attempt with ``psa.kernel.delivery.backoff``; after
  ``MAIL_MAX_ATTEMPTS`` the row is dead-lettered ("failed"): the operations page lists it with a
  Retry button (``mail_retry``).
- **Nothing depends on Redis.** After commit a task is queued as a fast path only
  (``nudge_on_commit``); if the broker is down the request still succeeds and the beat sweep
  (``mail_due`` + ``mail_send``, every minute) sends the row.

The residual window: if the worker dies (or the database goes away) after the SMTP server
accepted the message and before the transaction that marks it sent commits, the row is still
due and the message goes out a second time. SMTP gives no way to close that gap (no
idempotency key in the protocol), so delivery is exactly once except in that window of a few
milliseconds, where it is at least once — never zero.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Case, F, PositiveIntegerField, Q, When
from django.utils import timezone

from psa.kernel import correlation, delivery
from psa.kernel.models import DeliveryStatus, MailMessage
from psa.kernel.queue import nudge_on_commit

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_SMTP_TIMEOUT = 30  # seconds: a hung SMTP server must not hold the row for ever
STUCK_AFTER = dt.timedelta(minutes=10)  # due this long and still not sent: a person looks


class MailUndeliverable(Exception):
    """The renderer cannot build this e-mail (no recipient any more): fail it at once."""


@dataclass(frozen=True)
class Rendered:
    """An e-mail ready to send, and what to record once the SMTP server accepted it."""

    email: EmailMessage
    on_sent: Callable[[dt.datetime], None]


Renderer = Callable[[dict[str, Any]], Rendered]
_renderers: dict[str, Renderer] = {}


def mail_renderer_register(topic: str, renderer: Renderer) -> Renderer:
    """An area registers how to build its e-mails (in its ``AppConfig.ready``)."""
    _renderers[topic] = renderer
    return renderer


def max_attempts() -> int:
    return int(getattr(settings, "MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def mail_enqueue(*, key: str, topic: str, payload: dict[str, Any], label: str) -> MailMessage:
    """Write the message in the caller's transaction (one row per key) and nudge a worker
    after commit. A message that already exists and has not been sent is made due now (a
    failed one with a fresh allowance of attempts); one that was sent is left alone."""
    with transaction.atomic():
        message, created = MailMessage.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "topic": topic,
                "payload": payload,
                "label": label[:200],
                "next_attempt_at": timezone.now(),
                "correlation_id": correlation.get() or "",
            },
        )
        if not created:
            # A conditional update: if a sender holds the row, this waits for it and then
            # finds it delivered, and leaves it so (never a second e-mail).
            MailMessage.objects.filter(
                pk=message.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.DEAD]
            ).update(
                status=DeliveryStatus.PENDING,
                next_attempt_at=timezone.now(),
                # asked again after it failed: a fresh allowance of attempts
                attempts=Case(
                    When(status=DeliveryStatus.DEAD, then=0),
                    default=F("attempts"),
                    output_field=PositiveIntegerField(),
                ),
            )
            message.refresh_from_db()
        if message.status == DeliveryStatus.PENDING:
            _nudge(message.pk)
    return message


def mail_exists(key: str) -> bool:
    return MailMessage.objects.filter(idempotency_key=key).exists()


def mail_send(*, message_id: int, now: dt.datetime | None = None) -> str:
    """One attempt at message ``message_id`` if it is due and no other worker holds it.
    Returns its status afterwards, or "skipped"."""
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            MailMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return "skipped"  # sent, failed, not due, or another worker is sending it
        renderer = _renderers.get(message.topic)
        try:
            if renderer is None:
                raise MailUndeliverable(f"Nothing knows how to write a {message.topic!r} e-mail.")
            rendered = renderer(message.payload)
            rendered.email.connection = get_connection(
                timeout=getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_SMTP_TIMEOUT
            )
            rendered.email.send()
        except MailUndeliverable as exc:
            return _failed(message, str(exc), now=now, final=True)
        except (smtplib.SMTPException, OSError) as exc:
            return _failed(message, f"{type(exc).__name__}: {exc}", now=now, final=False)
        # The SMTP server accepted the message: record it in this transaction.
        rendered.on_sent(now)
        MailMessage.objects.filter(pk=message.pk).update(
            status=DeliveryStatus.DELIVERED, attempts=F("attempts") + 1, delivered_at=now,
            last_error="",
        )  # fmt: skip
    return DeliveryStatus.DELIVERED


def _failed(message: MailMessage, error: str, *, now: dt.datetime, final: bool) -> str:
    attempts = message.attempts + 1
    give_up = final or attempts >= max_attempts()
    status = DeliveryStatus.DEAD if give_up else DeliveryStatus.PENDING
    MailMessage.objects.filter(pk=message.pk).update(
        status=status,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=message.next_attempt_at if give_up else now + delivery.backoff(attempts),
    )
    log.warning("mail %s attempt %s failed: %s", message.idempotency_key, attempts, error)
    return status


def mail_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Messages whose (next) attempt is due: what the beat sweep sends."""
    now = now or timezone.now()
    return list(
        MailMessage.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def mail_problems(*, now: dt.datetime | None = None) -> list[MailMessage]:
    """Failed messages, and messages that have waited past their due time (stuck): what the
    operations page shows a person."""
    now = now or timezone.now()
    rows = list(
        MailMessage.objects.filter(
            Q(status=DeliveryStatus.DEAD)
            | Q(status=DeliveryStatus.PENDING, next_attempt_at__lt=now - STUCK_AFTER)
        ).order_by("created_at")[:50]
    )
    for row in rows:
        row.age = now - row.created_at
    return rows


def mail_retry(*, message_id: int, actor: Any) -> MailMessage:
    """A person sends a failed (or stuck) message again, now (the caller checks the role)."""
    retried = delivery.retry(model=MailMessage, pk=message_id, actor=actor, action="mail.retried")
    _nudge(retried.pk)
    return retried


def _nudge(pk: int) -> None:
    # Imported here: psa.kernel.tasks imports this module to send (a cycle within the kernel).
    from psa.kernel.tasks import send_mail_message

    nudge_on_commit(send_mail_message, pk)
