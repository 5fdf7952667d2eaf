"""The one place that talks to Stripe, through the official client (stripe v16 StripeClient).

Every call returns plain dicts (``StripeObject`` is not a dict since v15). Calls are made
outside database transactions. POSTs that move money carry the caller's idempotency key; the
client's own network retries are off, so a retry is always ours and always re-sends the key
we stored first.
"""

from __future__ import annotations

import time
from typing import Any

import stripe
from django.conf import settings

WEBHOOK_TOLERANCE_SECONDS = 300


class StripeNotConfigured(RuntimeError):
    pass


# The errors of the Stripe client, named here so no other module imports ``stripe``.
# What a call to Stripe may raise when Stripe (or its configuration) is the problem: a caller
# that goes on past one failure catches these, never a bare Exception.
GATEWAY_ERRORS: tuple[type[Exception], ...] = (stripe.StripeError, StripeNotConfigured)
# The bank declined (the error may carry the payment intent).
CardError = stripe.CardError
# The same idempotency key is in use right now (another worker is sending it).
IdempotencyError = stripe.IdempotencyError
# A webhook whose signature does not match, or that is too old.
SignatureVerificationError = stripe.SignatureVerificationError
# Outcome unknown (network, Stripe's side, rate limit): re-send later with the same key.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
)


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not stripe_configured():
        raise StripeNotConfigured("STRIPE_SECRET_KEY is not set.")
    # A short timeout: these calls run inside web requests (the pay button), and the client's
    # default of 80 s let two hanging clicks hold every web worker. A timeout is an
    # APIConnectionError (GATEWAY_ERRORS): the page says "try again shortly".
    kwargs: dict[str, Any] = {
        "max_network_retries": 0,
        "http_client": stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    }
    if settings.STRIPE_API_BASE:
        kwargs["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **kwargs)


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _opts(idempotency_key: str | None) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


def customer_create(*, name: str, email: str, customer_id: int, idempotency_key: str) -> dict:
    params = {"name": name, "metadata": {"psa_customer": str(customer_id)}}
    if email:
        params["email"] = email
    return _plain(_client().v1.customers.create(params=params, options=_opts(idempotency_key)))


def checkout_session_create(*, params: dict[str, Any], idempotency_key: str) -> dict:
    return _plain(
        _client().v1.checkout.sessions.create(params=params, options=_opts(idempotency_key))
    )


def checkout_session_retrieve(session_id: str) -> dict:
    return _plain(_client().v1.checkout.sessions.retrieve(session_id))


def checkout_session_expire(session_id: str) -> dict:
    return _plain(_client().v1.checkout.sessions.expire(session_id))


def payment_intent_create(*, params: dict[str, Any], idempotency_key: str) -> dict:
    return _plain(
        _client().v1.payment_intents.create(params=params, options=_opts(idempotency_key))
    )


def payment_intent_retrieve(pi_id: str) -> dict:
    """The intent with its charge and the charge's balance transaction (for the fee)."""
    return _plain(
        _client().v1.payment_intents.retrieve(
            pi_id, params={"expand": ["latest_charge.balance_transaction"]}
        )
    )


def setup_intent_retrieve(si_id: str) -> dict:
    return _plain(_client().v1.setup_intents.retrieve(si_id))


def payment_method_retrieve(pm_id: str) -> dict:
    return _plain(_client().v1.payment_methods.retrieve(pm_id))


def refund_create(*, params: dict[str, Any], idempotency_key: str) -> dict:
    return _plain(_client().v1.refunds.create(params=params, options=_opts(idempotency_key)))


def refund_retrieve(refund_id: str) -> dict:
    return _plain(_client().v1.refunds.retrieve(refund_id))


def dispute_retrieve(dispute_id: str) -> dict:
    return _plain(_client().v1.disputes.retrieve(dispute_id))


def payout_retrieve(payout_id: str) -> dict:
    return _plain(_client().v1.payouts.retrieve(payout_id))


def webhook_verify(*, payload: bytes, signature: str) -> None:
    """Raise ``stripe.SignatureVerificationError`` unless the raw body is signed with our
    secret within the tolerance. Without a secret nothing is accepted."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise stripe.SignatureVerificationError("No webhook secret is configured.", signature)
    stripe.WebhookSignature.verify_header(
        payload.decode("utf-8"), signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
    )
    # Stripe's check refuses only old timestamps; one from the future (beyond the tolerance)
    # is as suspect: a replayed or forged header must not stay valid for years.
    signed_at = dict(part.split("=", 1) for part in signature.split(",") if "=" in part).get(
        "t", ""
    )
    if not signed_at.isdigit() or int(signed_at) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise stripe.SignatureVerificationError(
            "The timestamp is in the future.", signature, payload.decode("utf-8")
        )
