"""Autopay: charge saved cards off-session on the due date, with bounded retries.

Claiming: an attempt row is the claim. The partial unique index ``attempt_one_in_flight`` lets
one in-flight attempt exist per invoice, so two sweeps (beat fired twice, two workers) create
one attempt and the loser skips. The attempt's idempotency key is committed before Stripe is
called, and every re-send of that attempt uses it: Stripe charges at most once per attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import (
    IN_FLIGHT,
    AttemptKind,
    AttemptStatus,
    CustomerCredit,
    Invoice,
    InvoiceKind,
    PaymentAttempt,
    PaymentMethod,
)
from billing.services import checkout, gateway, payments, sending
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.money import to_minor_units
from psa.kernel.webhooks import webhooks_emit

log = logging.getLogger(__name__)


def _autopay_method(customer_id: int) -> PaymentMethod | None:
    return (
        PaymentMethod.objects.filter(
            customer_id=customer_id, is_active=True, autopay_consent_at__isnull=False
        )
        .order_by("-autopay_consent_at")
        .first()
    )


def customer_credits_apply(*, actor_label: str = "job:collect") -> None:
    """Apply every customer's unused credit to their open invoices, oldest due first."""
    credit_customers = (
        CustomerCredit.objects.values("customer_id", "currency")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
    )
    for row in credit_customers:
        for invoice in Invoice.objects.filter(
            customer_id=row["customer_id"], currency=row["currency"],
            kind=InvoiceKind.INVOICE, status__in=payments.OPEN,
        ).order_by("due_date", "pk"):  # fmt: skip
            payments.credit_apply(invoice=invoice, actor_label=actor_label)


def attempt_start(*, invoice: Invoice) -> PaymentAttempt | None:
    """Create (and commit) the next off-session attempt for what the invoice owes now; None if
    nothing is due, no consented card exists or another attempt is in flight."""
    method = _autopay_method(invoice.customer_id)
    if method is None:
        return None
    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if locked.status not in payments.OPEN or locked.amount_due <= 0:
                return None
            number = checkout.next_attempt_number(locked)
            return PaymentAttempt.objects.create(
                invoice=locked, number=number, kind=AttemptKind.OFF_SESSION,
                amount=locked.amount_due, currency=locked.currency, payment_method=method,
                idempotency_key=checkout.idempotency_key(locked, number),
            )  # fmt: skip
    except IntegrityError:
        return None  # another attempt is in flight (the partial unique index said so)


def attempt_send(*, attempt: PaymentAttempt, today: dt.date | None = None) -> PaymentAttempt:
    """Send (or re-send, with the same key) an off-session charge and apply Stripe's answer.
    ``today`` is the sweep's clock (retries are planned from it)."""
    attempt = PaymentAttempt.objects.select_related("invoice", "payment_method").get(pk=attempt.pk)
    invoice = attempt.invoice
    customer_id = checkout.stripe_customer_ensure(invoice.customer)
    params = {
        "amount": to_minor_units(attempt.amount, attempt.currency),
        "currency": attempt.currency.lower(),
        "customer": customer_id,
        "payment_method": attempt.payment_method.stripe_payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": {"invoice": str(invoice.pk), "attempt": str(attempt.pk)},
        "expand": ["latest_charge.balance_transaction"],
    }
    try:
        pi = gateway.payment_intent_create(params=params, idempotency_key=attempt.idempotency_key)
    except gateway.CardError as exc:
        pi = _error_intent(exc)
        if pi is None:
            _mark_failed(attempt, exc.code or "card_error", str(exc.user_message or exc))
    except gateway.IdempotencyError as exc:
        # The same key is being used right now (another worker): leave it to that one.
        log.info("attempt %s: %s", attempt.pk, exc)
        return attempt
    except gateway.TRANSIENT_ERRORS as exc:
        # Outcome unknown: keep the attempt in flight; a retry re-sends the same key.
        PaymentAttempt.objects.filter(pk=attempt.pk, status__in=IN_FLIGHT).update(
            status=AttemptStatus.PROCESSING, error_code="unknown_outcome",
            error_message=f"{type(exc).__name__}: {exc}"[:500], updated_at=timezone.now(),
        )  # fmt: skip
        return PaymentAttempt.objects.get(pk=attempt.pk)
    if pi is not None:
        payments._apply_intent(attempt_id=attempt.pk, pi=pi, source="collect")
    attempt_follow_up(attempt_id=attempt.pk, today=today)
    return PaymentAttempt.objects.get(pk=attempt.pk)


def _error_intent(exc: gateway.CardError) -> dict | None:
    pi = getattr(exc.error, "payment_intent", None) if exc.error else None
    if pi is None:
        return None
    return pi.to_dict() if hasattr(pi, "to_dict") else dict(pi)


def _mark_failed(attempt: PaymentAttempt, code: str, message: str) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk, status__in=IN_FLIGHT).update(
        status=AttemptStatus.FAILED, error_code=code[:60], error_message=message[:500],
        updated_at=timezone.now(),
    )  # fmt: skip


def attempt_follow_up(*, attempt_id: int, today: dt.date | None = None) -> None:
    """After an off-session attempt failed: once (claimed by a conditional update), plan the
    next retry or give up and tell finance; if the bank wants the customer to authenticate,
    e-mail them the pay link instead."""
    attempt = PaymentAttempt.objects.select_related("invoice").get(pk=attempt_id)
    needs_customer = attempt.status == AttemptStatus.REQUIRES_ACTION or attempt.error_code in (
        "authentication_required",
    )
    failed = attempt.status == AttemptStatus.FAILED
    if attempt.kind != AttemptKind.OFF_SESSION or not (failed or needs_customer):
        return
    now = timezone.now()
    with transaction.atomic():
        claimed = PaymentAttempt.objects.filter(pk=attempt.pk, followed_up_at__isnull=True).update(
            followed_up_at=now
        )
        if not claimed:
            return

        invoice = attempt.invoice
        if needs_customer:
            sending.autopay_mail_enqueue(attempt=attempt, kind="authentication_required")
            action, after = "autopay.authentication_required", {}
        else:
            failures = PaymentAttempt.objects.filter(
                invoice=invoice, kind=AttemptKind.OFF_SESSION, status=AttemptStatus.FAILED
            ).count()
            retry_days = settings.AUTOPAY_RETRY_DAYS
            if failures <= len(retry_days):
                base = clock.now()
                if today:
                    base = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
                when = base + dt.timedelta(days=retry_days[failures - 1])
                PaymentAttempt.objects.filter(pk=attempt.pk).update(next_retry_at=when)
                action, after = "autopay.retry_planned", {"next_retry_at": when.isoformat()}
            else:
                sending.autopay_mail_enqueue(attempt=attempt, kind="gave_up")
                action, after = "autopay.gave_up", {"failures": failures}
        audit_record(action=action, obj=invoice, actor_label="job:collect",
                     reason=attempt.error_code, after={"attempt": attempt.pk, **after})  # fmt: skip
        webhooks_emit(
            event="payment.failed",
            data={"invoice_id": invoice.pk, "number": invoice.number, "attempt": attempt.number,
                  "code": attempt.error_code},
        )  # fmt: skip


def payment_attempt_retry(*, attempt: PaymentAttempt, actor: Any = None) -> PaymentAttempt:
    """Finance's retry button: re-read or re-send an attempt that is still in flight, or start
    the next one after a failed autopay charge."""
    attempt = PaymentAttempt.objects.get(pk=attempt.pk)
    audit_record(action="payment_attempt.retried", obj=attempt.invoice, actor=actor,
                 after={"attempt": attempt.pk, "status": attempt.status})  # fmt: skip
    if attempt.status in IN_FLIGHT:
        return attempt_recheck(attempt)
    if attempt.status == AttemptStatus.FAILED and attempt.kind == AttemptKind.OFF_SESSION:
        new = attempt_start(invoice=attempt.invoice)
        if new is None:
            raise errors.Conflict(
                "Nothing to retry: the invoice is settled, has no autopay card, or another "
                "payment is in progress.",
                code="nothing_to_retry",
            )
        return attempt_send(attempt=new)
    raise errors.Conflict(
        f"A {attempt.get_status_display().lower()} attempt cannot be retried.",
        code="illegal_transition",
    )


def attempt_recheck(attempt: PaymentAttempt) -> PaymentAttempt:
    """An in-flight attempt: re-send its charge with the same key if Stripe never answered,
    else re-read what Stripe knows."""
    if attempt.kind == AttemptKind.OFF_SESSION and not attempt.payment_intent_id:
        return attempt_send(attempt=attempt)
    payments.payment_confirm(attempt=attempt, source="reconcile")
    return PaymentAttempt.objects.get(pk=attempt.pk)
