"""Card payments through Stripe Checkout: one attempt per try (numbered, with its own
idempotency key), the customer's Stripe customer created once, and the Checkout Session."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.models import (
    IN_FLIGHT,
    OPEN,
    AttemptKind,
    AttemptStatus,
    Invoice,
    PaymentAttempt,
    StripeCustomer,
)
from billing.services import gateway
from crm.models import Customer
from psa.kernel import errors
from psa.kernel.money import to_minor_units

log = logging.getLogger(__name__)


def next_attempt_number(invoice: Invoice) -> int:
    return (invoice.attempts.aggregate(n=Max("number"))["n"] or 0) + 1


def idempotency_key(invoice: Invoice, number: int) -> str:
    return f"psa-inv{invoice.pk}-att{number}"


def stripe_customer_ensure(customer: Customer) -> str:
    """The customer's Stripe customer id, created once (a deterministic key makes a retried
    creation return the same Stripe customer)."""
    row = StripeCustomer.objects.filter(customer=customer).first()
    if row:
        return row.stripe_customer_id
    created = gateway.customer_create(
        name=customer.name, email=customer.billing_email, customer_id=customer.pk,
        idempotency_key=f"psa-cus{customer.pk}",
    )  # fmt: skip
    row, _ = StripeCustomer.objects.get_or_create(
        customer=customer, defaults={"stripe_customer_id": created["id"]}
    )
    return row.stripe_customer_id


def checkout_start(
    *, invoice: Invoice, pay_url: str, save_card: bool = False, client_ip: str | None = None
) -> str:
    """A fresh Checkout Session for what the invoice owes now; returns its URL.

    Earlier open checkout attempts of the invoice are superseded (and their sessions expired),
    so one invoice never has two live sessions. Should one of them have been paid after all,
    its webhook still records that money (as credit if the invoice is settled by then)."""
    if not gateway.stripe_configured():
        raise errors.Conflict("Card payments are not available.", code="stripe_not_configured")
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update().select_related("legal_entity").get(pk=invoice.pk)
        )
        if locked.status not in OPEN or locked.amount_due <= 0:
            raise errors.Conflict("This invoice has nothing left to pay.", code="nothing_due")
        in_flight = list(locked.attempts.filter(status__in=IN_FLIGHT))
        if any(a.kind == AttemptKind.OFF_SESSION for a in in_flight):
            raise errors.Conflict(
                "A card payment for this invoice is already in progress.", code="in_progress"
            )
        superseded = [a.checkout_session_id for a in in_flight if a.checkout_session_id]
        PaymentAttempt.objects.filter(pk__in=[a.pk for a in in_flight]).update(
            status=AttemptStatus.CANCELED, error_code="superseded", updated_at=timezone.now()
        )
        number = next_attempt_number(locked)
        attempt = PaymentAttempt.objects.create(
            invoice=locked, number=number, kind=AttemptKind.CHECKOUT, amount=locked.amount_due,
            currency=locked.currency, idempotency_key=idempotency_key(locked, number),
            save_card=save_card, consent_ip=client_ip if save_card else None,
        )  # fmt: skip
    for session_id in superseded:
        try:
            gateway.checkout_session_expire(session_id)
        except gateway.GATEWAY_ERRORS:
            log.info("could not expire checkout session %s", session_id)
    try:
        customer_id = stripe_customer_ensure(locked.customer)
        meta = {"invoice": str(locked.pk), "attempt": str(attempt.pk)}
        intent_data: dict[str, Any] = {"metadata": meta}
        if save_card:
            intent_data["setup_future_usage"] = "off_session"
        session = gateway.checkout_session_create(
            params={
                "mode": "payment",
                "customer": customer_id,
                "client_reference_id": str(locked.pk),
                "metadata": meta,
                "payment_intent_data": intent_data,
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": locked.currency.lower(),
                            "unit_amount": to_minor_units(attempt.amount, locked.currency),
                            "product_data": {"name": f"Invoice {locked.number}"},
                        },
                    }
                ],
                "success_url": f"{pay_url}?session_id={{CHECKOUT_SESSION_ID}}",
                "cancel_url": pay_url,
            },
            idempotency_key=attempt.idempotency_key,
        )
    except gateway.GATEWAY_ERRORS as exc:
        PaymentAttempt.objects.filter(pk=attempt.pk, status=AttemptStatus.CREATED).update(
            status=AttemptStatus.FAILED, error_code="checkout_unavailable",
            error_message=str(exc)[:500], updated_at=timezone.now(),
        )  # fmt: skip
        log.warning("checkout session for invoice %s failed: %s", locked.pk, exc)
        raise errors.Conflict(
            "Card payment is unavailable right now; please try again shortly or pay by bank "
            "transfer.",
            code="stripe_unavailable",
        ) from exc
    PaymentAttempt.objects.filter(pk=attempt.pk).update(checkout_session_id=session["id"])
    return session["url"]
