# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Autopay against the fake Stripe: due-date charges with stored idempotency keys, declines with
bounded retries, authentication required, a 500 then success, idempotent replay; and refunds,
disputes and payouts from Stripe, each booked once."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import (
    AttemptStatus,
    Dispute,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    Payout,
    Refund,
    StripeCustomer,
    StripeEvent,
)
from billing.selectors.payments import attempts_needing_attention
from billing.services.collect import attempt_send, payment_attempt_retry
from billing.services.refunds import payment_refund
from billing.services.stripe_events import stripe_event_process
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from psa.automation.models import JobRun
from psa.automation.sweeps import collect_due
from psa.kernel.models import AuditEvent
from tests.billing.payment_fixtures import (  # noqa: F401
    DUE,
    LATER,
    customer,
    eager,
    fake_stripe,
    firm,
    invoice,
    post_event,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def autopay(customer, fake_stripe):
    """The customer saved a card with consent; Stripe knows the customer."""

    def with_card(pm: str = "pm_card_visa") -> PaymentMethod:
        StripeCustomer.objects.get_or_create(
            customer=customer, defaults={"stripe_customer_id": "cus_test_northwind"}
        )
        return PaymentMethod.objects.create(
            customer=customer, stripe_payment_method_id=pm, autopay_consent_at=timezone.now(),
            consent_text="I authorise …",
        )  # fmt: skip

    return with_card


def _charges(fake):
    return fake.calls("POST", "/v1/payment_intents")


def test_autopay_charges_on_the_due_date_once_with_the_key_stored_first(
    firm, invoice, autopay, fake_stripe
):
    autopay()
    collect_due(today=DUE - dt.timedelta(days=1))
    assert not PaymentAttempt.objects.exists()  # not before the due date
    collect_due(today=DUE)
    collect_due(today=DUE)  # beat fired twice: nothing more
    attempt = PaymentAttempt.objects.get()
    (charge,) = _charges(fake_stripe)
    assert charge["idempotency_key"] == attempt.idempotency_key == f"psa-inv{invoice.pk}-att1"
    assert charge["params"]["off_session"] == "true" and charge["params"]["amount"] == "120000"
    assert charge["params"]["metadata"] == {"invoice": str(invoice.pk), "attempt": str(attempt.pk)}
    assert attempt.status == AttemptStatus.SUCCEEDED
    payment = Payment.objects.get()
    assert (payment.amount, payment.fee, payment.method) == (D("1200.00"), D("35.10"), "card")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert (books["stripe_clearing"], books["payment_fees"]) == (D("1164.90"), D("35.10"))
    assert JobRun.objects.filter(job="collect-due").count() == 3


def test_no_consent_no_charge(invoice, customer, fake_stripe):
    PaymentMethod.objects.create(customer=customer, stripe_payment_method_id="pm_card_visa")
    collect_due(today=DUE)
    assert not _charges(fake_stripe) and not PaymentAttempt.objects.exists()


def test_a_decline_is_retried_on_a_schedule_then_autopay_stops_and_tells_finance(
    invoice, autopay, fake_stripe, finance, eager, django_capture_on_commit_callbacks, settings
):
    settings.AUTOPAY_RETRY_DAYS = [1, 3]
    autopay("pm_card_chargeDeclined")
    with django_capture_on_commit_callbacks(execute=True):
        collect_due(today=DUE)
    first = PaymentAttempt.objects.get()
    assert (first.status, first.error_code) == (AttemptStatus.FAILED, "generic_decline")
    assert timezone.localdate(first.next_retry_at) == DUE + dt.timedelta(days=1)
    collect_due(today=DUE)  # the retry is not due yet
    assert PaymentAttempt.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        collect_due(today=DUE + dt.timedelta(days=1))  # 2nd try, declined: next in 3 days
    second = PaymentAttempt.objects.get(number=2)
    assert timezone.localdate(second.next_retry_at) == DUE + dt.timedelta(days=4)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        collect_due(today=DUE + dt.timedelta(days=4))  # 3rd and last try
    assert PaymentAttempt.objects.filter(status=AttemptStatus.FAILED).count() == 3
    assert [m.to for m in mail.outbox] == [[finance.email]]
    assert "Autopay gave up" in mail.outbox[0].subject
    # Stopped: further sweeps charge nothing, and finance sees the attempt to act on.
    collect_due(today=DUE + dt.timedelta(days=30))
    assert PaymentAttempt.objects.count() == 3
    keys = [c["idempotency_key"] for c in _charges(fake_stripe)]
    assert keys == [f"psa-inv{invoice.pk}-att{n}" for n in (1, 2, 3)]
    assert list(attempts_needing_attention(visible_to=finance)) == [
        PaymentAttempt.objects.get(number=3)
    ]
    assert AuditEvent.objects.filter(action="autopay.gave_up").count() == 1
    assert Payment.objects.count() == 0


def test_authentication_required_emails_the_customer_the_pay_link(
    invoice, autopay, fake_stripe, eager, django_capture_on_commit_callbacks
):
    autopay("pm_card_authenticationRequired")
    with django_capture_on_commit_callbacks(execute=True):
        collect_due(today=DUE)
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.error_code) == (AttemptStatus.FAILED, "authentication_required")
    assert attempt.next_retry_at is None  # the customer must act: no blind retries
    (message,) = mail.outbox
    assert message.to == ["ap@northwind.test"]
    assert f"/pay/{invoice.pay_token}/" in message.body
    collect_due(today=DUE + dt.timedelta(days=5))
    assert PaymentAttempt.objects.count() == 1


def test_a_500_then_success_charges_once_with_the_same_key(invoice, autopay, fake_stripe):
    autopay()
    fake_stripe.script("POST", "/v1/payment_intents", {"status": 500})
    collect_due(today=DUE)
    attempt = PaymentAttempt.objects.get()
    assert (attempt.status, attempt.error_code) == (AttemptStatus.PROCESSING, "unknown_outcome")
    assert not Payment.objects.exists()
    collect_due(today=DUE)  # in flight: the sweep does not start a second attempt
    assert PaymentAttempt.objects.count() == 1
    payment_attempt_retry(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    keys = [c["idempotency_key"] for c in _charges(fake_stripe)]
    assert keys == [attempt.idempotency_key] * 2
    assert Payment.objects.count() == 1


def test_an_idempotent_replay_records_one_payment(invoice, autopay, fake_stripe):
    """A worker charged the card, then died before writing the result; the retry re-sends the
    stored key, Stripe replays the first answer, and exactly one payment is recorded."""
    from billing.services import gateway as stripe_gateway
    from billing.services.collect import attempt_start

    autopay()
    attempt = attempt_start(invoice=invoice)
    stripe_gateway.payment_intent_create(
        params={"amount": 120000, "currency": "gbp", "customer": "cus_test_northwind",
                "payment_method": "pm_card_visa", "off_session": True, "confirm": True,
                "metadata": {"invoice": str(invoice.pk), "attempt": str(attempt.pk)},
                "expand": ["latest_charge.balance_transaction"]},
        idempotency_key=attempt.idempotency_key,
    )  # fmt: skip
    attempt_send(attempt=attempt)
    attempt_send(attempt=attempt)
    pis = [o for o in fake_stripe.objects.values() if o.get("object") == "payment_intent"]
    assert len(pis) == 1 and len(_charges(fake_stripe)) == 3
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="payment").count() == 1
    # The same key with other parameters is refused by Stripe, never charged twice.
    with pytest.raises(Exception, match="same parameters"):
        stripe_gateway.payment_intent_create(
            params={"amount": 1, "currency": "gbp"}, idempotency_key=attempt.idempotency_key
        )


def test_a_card_refund_goes_through_stripe_and_its_webhook_changes_nothing_more(
    client, firm, invoice, autopay, fake_stripe, finance
):
    autopay()
    collect_due(today=DUE)
    payment = Payment.objects.get()
    refund = payment_refund(payment=payment, amount="200.00", actor=finance, reason="Goodwill")
    assert (refund.status, refund.via) == ("succeeded", "stripe")
    (call,) = fake_stripe.calls("POST", "/v1/refunds")
    assert call["idempotency_key"] == refund.idempotency_key and call["params"]["amount"] == "20000"
    invoice.refresh_from_db()
    assert invoice.amount_due == D("200.00")
    re = fake_stripe.objects[refund.stripe_refund_id]
    post_event(client, fake_stripe.event("refund.updated", re))
    stripe_event_process(event_id=StripeEvent.objects.get().pk)
    assert Refund.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="refund").count() == 1
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert books["stripe_clearing"] == D("964.90")
    assert books["accounts_receivable"] == D("200.00")


def test_a_refund_made_in_the_stripe_dashboard_is_imported(client, invoice, autopay, fake_stripe):
    autopay()
    collect_due(today=DUE)
    payment = Payment.objects.get()
    charge_id = fake_stripe.objects[payment.payment_intent_id]["latest_charge"]
    re = fake_stripe.add({
        "id": "re_dashboard", "object": "refund", "amount": 50000, "currency": "gbp",
        "status": "succeeded", "payment_intent": payment.payment_intent_id, "metadata": {},
    })  # fmt: skip
    fake_stripe.objects[charge_id]["refunds"]["data"].append({"id": re["id"]})
    event = fake_stripe.event("charge.refunded", fake_stripe.objects[charge_id])
    post_event(client, event)
    stripe_event_process(event_id=event["id"])
    refund = Refund.objects.get()
    assert (refund.external, refund.amount, refund.status) == (True, D("500.00"), "succeeded")
    payment.refresh_from_db()
    assert payment.refunded == D("500.00")


def test_a_dispute_is_booked_and_reversed_when_won(client, firm, invoice, autopay, fake_stripe):
    autopay()
    collect_due(today=DUE)
    payment = Payment.objects.get()
    dispute = fake_stripe.add({
        "id": "du_1", "object": "dispute", "amount": 120000, "currency": "gbp",
        "status": "needs_response", "reason": "fraudulent",
        "payment_intent": payment.payment_intent_id,
        "balance_transactions": [{"id": "txn_d", "fee": 1500, "currency": "gbp"}],
    })  # fmt: skip
    for kind in ("charge.dispute.created", "charge.dispute.created"):
        event = fake_stripe.event(kind, dispute, event_id="evt_dispute_1")
        post_event(client, event)
    stripe_event_process(event_id="evt_dispute_1")
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert (books["bad_debt"], books["payment_fees"]) == (D("1200.00"), D("50.10"))
    assert books["stripe_clearing"] == D("1164.90") - D("1215.00")
    dispute["status"] = "won"
    event = fake_stripe.event("charge.dispute.closed", dispute)
    post_event(client, event)
    stripe_event_process(event_id=event["id"])
    stripe_event_process(event_id=event["id"])
    assert Dispute.objects.get().status == "won"
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert books["bad_debt"] == D("0")
    assert JournalEntry.objects.filter(source_type="dispute").count() == 2


def test_a_payout_moves_money_from_stripe_clearing_to_the_bank_once(client, firm, fake_stripe):
    payout = fake_stripe.add({
        "id": "po_1", "object": "payout", "amount": 100000, "currency": "gbp", "status": "paid",
        "arrival_date": int(timezone.now().timestamp()),
    })  # fmt: skip
    for _ in range(2):
        post_event(client, fake_stripe.event("payout.paid", payout, event_id="evt_po_1"))
    stripe_event_process(event_id="evt_po_1")
    assert Payout.objects.count() == 1
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert (books["bank"], books["stripe_clearing"]) == (D("1000.00"), D("-1000.00"))


def test_zero_decimal_currencies_are_charged_in_whole_yen(firm, fake_stripe, autopay):
    import datetime as dt

    from ledger.models import FxRate
    from tests.billing.payment_fixtures import make_invoice
    from tests.crm.factories import CustomerFactory

    FxRate.objects.create(
        currency="JPY", functional_currency="GBP", date=dt.date(2020, 1, 1), rate=D("0.0052")
    )
    tokyo = CustomerFactory(legal_entity=firm, name="Tokyo KK", currency="JPY",
                            payment_terms_days=14)  # fmt: skip
    yen = make_invoice(tokyo, net=D("100000"), tax=D("10000"))
    StripeCustomer.objects.create(customer=tokyo, stripe_customer_id="cus_test_tokyo")
    PaymentMethod.objects.create(customer=tokyo, stripe_payment_method_id="pm_card_visa",
                                 autopay_consent_at=timezone.now())  # fmt: skip
    collect_due(today=DUE)
    (charge,) = _charges(fake_stripe)
    assert (charge["params"]["amount"], charge["params"]["currency"]) == ("110000", "jpy")
    payment = Payment.objects.get(invoice=yen)
    # 2.9 % of 110,000 + 30 = 3,220 yen: whole yen, never 32.20.
    assert (payment.amount, payment.fee) == (D("110000"), D("3220"))
    yen.refresh_from_db()
    assert yen.status == InvoiceStatus.PAID


def test_an_event_whose_processing_failed_is_picked_up_by_the_sweep(
    client, invoice, autopay, fake_stripe
):
    from psa.automation.sweeps import stripe_events_process_pending

    autopay()
    collect_due(today=DUE)
    payment = Payment.objects.get()
    re = fake_stripe.add({
        "id": "re_sweep", "object": "refund", "amount": 1000, "currency": "gbp",
        "status": "succeeded", "payment_intent": payment.payment_intent_id, "metadata": {},
    })  # fmt: skip
    fake_stripe.script("GET", "/v1/refunds/re_sweep", {"status": 500})
    event = fake_stripe.event("refund.created", re)
    post_event(client, event)
    with pytest.raises(Exception, match="Fake outage"):
        stripe_event_process(event_id=event["id"])
    row = StripeEvent.objects.get()
    assert row.processed_at is None and "Fake outage" in row.error and row.attempts == 1
    counts = stripe_events_process_pending()
    assert counts["processed"] == 1
    row.refresh_from_db()
    assert row.processed_at is not None and row.error == ""
    assert Refund.objects.get().stripe_refund_id == "re_sweep"


def test_a_card_saved_without_paying_needs_the_consent_flag(client, customer, fake_stripe):
    StripeCustomer.objects.create(customer=customer, stripe_customer_id="cus_test_northwind")
    for n, consent in ((1, "no"), (2, "yes")):
        si = fake_stripe.add({
            "id": f"seti_{n}", "object": "setup_intent", "status": "succeeded",
            "customer": "cus_test_northwind", "payment_method": f"pm_saved_{n}",
            "metadata": {"autopay_consent": consent},
        })  # fmt: skip
        fake_stripe.add({"id": f"pm_saved_{n}", "object": "payment_method",
                         "card": {"brand": "visa", "last4": "0005"}})  # fmt: skip
        event = fake_stripe.event("setup_intent.succeeded", si)
        post_event(client, event)
        stripe_event_process(event_id=event["id"])
    (method,) = PaymentMethod.objects.all()
    assert method.stripe_payment_method_id == "pm_saved_2"
    assert method.autopay_consent_at is not None


def test_full_payment_emits_invoice_paid_and_a_decline_payment_failed(
    invoice, autopay, fake_stripe, finance
):
    from psa.kernel.models import WebhookDelivery
    from psa.kernel.webhooks import webhook_subscribe

    webhook_subscribe(owner=finance, url="https://hooks.example.test/x",
                      events=["invoice.paid", "payment.failed"])  # fmt: skip
    autopay("pm_card_chargeDeclined")
    collect_due(today=DUE)
    PaymentMethod.objects.update(is_active=False)
    from billing.services.payments import payment_record

    payment_record(invoice=invoice, amount="1200.00")
    topics = sorted(WebhookDelivery.objects.values_list("topic", flat=True))
    assert topics == ["invoice.paid", "payment.failed"]


def test_the_reconcile_sweep_settles_stuck_attempts_without_a_webhook(
    client, invoice, autopay, fake_stripe
):
    from billing.services.gateway import checkout_session_expire
    from psa.automation.sweeps import attempts_reconcile

    autopay()
    fake_stripe.script("POST", "/v1/payment_intents", {"status": 500})
    collect_due(today=DUE)  # outcome unknown: stuck in processing
    # An abandoned checkout of another invoice, expired at Stripe, its webhook lost.
    from tests.billing.payment_fixtures import make_invoice

    other = make_invoice(invoice.customer)
    client.post(f"/pay/{other.pay_token}/checkout/")
    abandoned = PaymentAttempt.objects.get(invoice=other)
    checkout_session_expire(abandoned.checkout_session_id)
    later = timezone.now() + dt.timedelta(hours=26)
    assert attempts_reconcile(now=timezone.now())["processed"] == 0  # nothing is stuck yet
    counts = attempts_reconcile(now=later)
    assert counts["processed"] == 2 and counts["failed"] == 0
    assert PaymentAttempt.objects.get(invoice=invoice).status == AttemptStatus.SUCCEEDED
    abandoned.refresh_from_db()
    assert abandoned.status == AttemptStatus.CANCELED
    assert Payment.objects.count() == 1
