"""Stripe webhooks: a verified inbox keyed by event id, processed in Celery after commit (the
endpoint is billing/views/stripe.py).

The endpoint verifies the signature on the raw body (bad or stale: 400, nothing written),
stores the event once (its id is the primary key) and acknowledges at once. The worker uses the
event only as a trigger: every handler re-reads the object from Stripe and applies it through
services whose final states never move backwards, so duplicates and reversed order are
harmless. Unknown types are acknowledged and marked processed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from billing.models import AttemptStatus, PaymentAttempt, PaymentMethod, StripeCustomer, StripeEvent
from billing.services import gateway, payments, refunds
from billing.services.collect import attempt_follow_up
from billing.tasks import process_stripe_event
from psa.kernel import errors
from psa.kernel.queue import enqueue_on_commit

log = logging.getLogger(__name__)


def stripe_event_receive(*, event: dict, event_id: str, event_type: str) -> bool:
    """Store the event once; True if it is new (and then queue its processing after commit)."""

    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                id=event_id[:80], type=event_type[:80], livemode=bool(event.get("livemode")),
                created=int(event.get("created") or 0), payload=event,
            )  # fmt: skip
            enqueue_on_commit(process_stripe_event, event_id)
    except IntegrityError:
        return False  # a redelivery: the first copy is (being) processed
    return True


def stripe_event_process(*, event_id: str) -> bool:
    """Run the event's handler; True once it is processed. Safe to run twice or concurrently:
    handlers are idempotent, and processed_at is set once."""
    event = StripeEvent.objects.filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return True
    StripeEvent.objects.filter(pk=event_id).update(attempts=event.attempts + 1)
    handler = HANDLERS.get(event.type)
    try:
        if handler is not None:
            handler(event.payload["data"]["object"])
    except (*gateway.GATEWAY_ERRORS, errors.DomainError, DatabaseError, LookupError) as exc:
        # Stripe unreachable, a refusal, or a malformed payload: kept on the event for finance.
        StripeEvent.objects.filter(pk=event_id).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    StripeEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
        processed_at=timezone.now(), error=""
    )
    return True


# --- handlers: each re-reads its object -------------------------------------------------------


def _attempt_for_session(session: dict) -> PaymentAttempt | None:
    attempt = PaymentAttempt.objects.filter(checkout_session_id=session["id"]).first()
    attempt_id = (session.get("metadata") or {}).get("attempt")
    if attempt is None and attempt_id and str(attempt_id).isdigit():
        attempt = PaymentAttempt.objects.filter(pk=int(attempt_id)).first()
    return attempt


def _on_checkout_session(obj: dict) -> None:
    session = gateway.checkout_session_retrieve(obj["id"])
    attempt = _attempt_for_session(session)
    if attempt is None:
        log.info("checkout session %s belongs to no attempt", session["id"])
        return
    if session.get("status") == "expired":
        PaymentAttempt.objects.filter(pk=attempt.pk, status=AttemptStatus.CREATED).update(
            status=AttemptStatus.CANCELED, error_code="expired", updated_at=timezone.now()
        )
        return
    if session.get("payment_intent"):
        payments.payment_confirm(
            attempt=attempt, payment_intent_id=session["payment_intent"], source="webhook"
        )


def _on_payment_intent(obj: dict) -> None:

    pi = gateway.payment_intent_retrieve(obj["id"])
    attempt = payments.attempt_for_intent(pi)
    if attempt is None:
        log.info("payment intent %s belongs to no attempt", pi["id"])
        return
    payments.payment_confirm(attempt=attempt, payment_intent_id=pi["id"], source="webhook")
    attempt_follow_up(attempt_id=attempt.pk)


def _on_setup_intent(obj: dict) -> None:
    """A card saved without a payment (Checkout in setup mode): kept only with consent."""
    si = gateway.setup_intent_retrieve(obj["id"])
    meta = si.get("metadata") or {}
    if si.get("status") != "succeeded" or meta.get("autopay_consent") != "yes":
        return
    pm_id = si["payment_method"] if isinstance(si["payment_method"], str) else None
    link = StripeCustomer.objects.filter(stripe_customer_id=si.get("customer")).first()
    if (
        not pm_id
        or link is None
        or PaymentMethod.objects.filter(stripe_payment_method_id=pm_id).exists()
    ):
        return
    with transaction.atomic():
        payments._method_save(customer_id=link.customer_id, pm_id=pm_id, consent_ip=None)


def _on_refund(obj: dict) -> None:
    refunds.refund_sync(refund_obj=gateway.refund_retrieve(obj["id"]))


def _on_charge_refunded(obj: dict) -> None:
    for refund in (obj.get("refunds") or {}).get("data") or []:
        refunds.refund_sync(refund_obj=gateway.refund_retrieve(refund["id"]))


def _on_dispute(obj: dict) -> None:
    refunds.dispute_sync(dispute_obj=gateway.dispute_retrieve(obj["id"]))


def _on_payout(obj: dict) -> None:
    refunds.payout_sync(payout_obj=gateway.payout_retrieve(obj["id"]))


HANDLERS: dict[str, Callable[[dict], None]] = {
    "checkout.session.completed": _on_checkout_session,
    "checkout.session.async_payment_succeeded": _on_checkout_session,
    "checkout.session.async_payment_failed": _on_checkout_session,
    "checkout.session.expired": _on_checkout_session,
    "payment_intent.succeeded": _on_payment_intent,
    "payment_intent.payment_failed": _on_payment_intent,
    "payment_intent.requires_action": _on_payment_intent,
    "payment_intent.processing": _on_payment_intent,
    "payment_intent.canceled": _on_payment_intent,
    "setup_intent.succeeded": _on_setup_intent,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.refund.updated": _on_refund,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
    "charge.dispute.funds_withdrawn": _on_dispute,
    "charge.dispute.funds_reinstated": _on_dispute,
    "payout.paid": _on_payout,
    "payout.failed": _on_payout,
    "payout.updated": _on_payout,
}
