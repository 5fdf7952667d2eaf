# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""The return redirect and the webhook confirm the same payment at the same moment, each in its
own thread with its own database connection: one payment, one ledger entry."""

import threading

import pytest
from django.db import IntegrityError, connections

from billing.models import Payment, PaymentAttempt, StripeEvent
from billing.services import gateway as stripe_gateway
from billing.services.stripe_events import stripe_event_process
from ledger.models import JournalEntry
from tests.billing.payment_fixtures import (  # noqa: F401
    customer,
    fake_stripe,
    firm,
    invoice,
    post_event,
)


def _together(*fns):
    failures, results = [], []

    def run(fn):
        try:
            results.append(fn())
        except Exception as exc:  # reported by the assertions of the caller
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, failures


@pytest.fixture
def paid_session(client, invoice, fake_stripe, monkeypatch):
    """A completed Checkout whose webhook is in the inbox; both confirmers read the intent from
    Stripe and only then, together, try to record it."""
    client.post(f"/pay/{invoice.pay_token}/checkout/")
    attempt = PaymentAttempt.objects.get()
    fake_stripe.complete_checkout(attempt.checkout_session_id)
    session = fake_stripe.objects[attempt.checkout_session_id]
    event = fake_stripe.event("checkout.session.completed", session)
    assert post_event(client, event).status_code == 200
    barrier = threading.Barrier(2, timeout=20)
    real = stripe_gateway.payment_intent_retrieve

    def retrieve_then_wait(pi_id):
        pi = real(pi_id)
        barrier.wait()  # both have read "succeeded" before either writes
        return pi

    monkeypatch.setattr(stripe_gateway, "payment_intent_retrieve", retrieve_then_wait)
    return attempt, event


@pytest.mark.django_db(transaction=True)
def test_redirect_and_webhook_at_once_record_one_payment_and_one_entry(
    client, invoice, paid_session
):
    attempt, event = paid_session
    url = f"/pay/{invoice.pay_token}/?session_id={attempt.checkout_session_id}"
    results, failures = _together(
        lambda: client.get(url).status_code,
        lambda: stripe_event_process(event_id=event["id"]),
    )
    assert failures == []
    assert sorted(map(str, results)) == ["200", "True"]
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="payment").count() == 1
    assert StripeEvent.objects.get().processed_at is not None
    invoice.refresh_from_db()
    assert invoice.status == "paid"


@pytest.mark.django_db(transaction=True)
def test_control_without_the_row_locks_the_database_still_refuses_a_second_payment(
    invoice, paid_session, monkeypatch
):
    """The guard matters: with the invoice and attempt locks removed, both confirmers get past
    the "already recorded?" check, and only the unique constraint on Payment.attempt stops the
    second payment (as an error, where the lock makes the second confirmer a quiet no-op)."""
    from django.db.models import QuerySet

    from billing.services.payments import payment_confirm

    attempt, _ = paid_session
    monkeypatch.setattr(QuerySet, "select_for_update", lambda self, **kw: self)
    _, failures = _together(
        lambda: payment_confirm(attempt=attempt, source="redirect"),
        lambda: payment_confirm(attempt=attempt, source="webhook"),
    )
    assert len(failures) == 1 and isinstance(failures[0], IntegrityError)
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="payment").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_collect_sweeps_at_once_charge_the_card_once(invoice, fake_stripe):
    import datetime as dt

    from django.utils import timezone

    from billing.models import PaymentMethod, StripeCustomer
    from psa.automation.sweeps import collect_due

    StripeCustomer.objects.create(customer=invoice.customer, stripe_customer_id="cus_test_nw")
    PaymentMethod.objects.create(customer=invoice.customer, stripe_payment_method_id="pm_card_visa",
                                 autopay_consent_at=timezone.now())  # fmt: skip
    barrier = threading.Barrier(2, timeout=20)

    def sweep():
        barrier.wait()
        return collect_due(today=invoice.due_date + dt.timedelta(days=1))

    _, failures = _together(sweep, sweep)
    assert failures == []
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 1
    assert PaymentAttempt.objects.count() == 1
    assert Payment.objects.count() == 1
