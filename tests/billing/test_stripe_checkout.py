# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""The pay page and card payments through Stripe Checkout, against the local fake Stripe with
the real stripe client; webhooks signed like Stripe's and verified by stripe's own code."""

import time
from decimal import Decimal as D

import pytest

from billing.models import (
    AttemptStatus,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    StripeEvent,
)
from billing.services.payments import payment_confirm
from billing.services.stripe_events import stripe_event_process
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from tests.billing.payment_fixtures import (  # noqa: F401
    LATER,
    WHSEC,
    customer,
    eager,
    fake_stripe,
    firm,
    invoice,
    post_event,
)

pytestmark = pytest.mark.django_db


def _pay_url(invoice):
    return f"/pay/{invoice.pay_token}/"


def _click_pay(client, invoice, **data):
    response = client.post(f"{_pay_url(invoice)}checkout/", data)
    assert response.status_code == 302, response.content
    return response["Location"]


def test_the_pay_page_shows_only_that_invoice_with_bank_details_when_stripe_is_off(
    client, invoice, settings
):
    settings.STRIPE_SECRET_KEY = ""
    response = client.get(_pay_url(invoice))
    assert response.status_code == 200
    html = response.content.decode()
    assert invoice.number in html and "1,200.00 GBP" in html
    assert "GB29 NWBK" in html and "Download PDF" in html
    assert "Pay 1,200.00 GBP by card" not in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex">' in html
    assert 'data-testid="pay-status">due<' in html
    # The token is the key: anything else is a 404, and drafts are never shown.
    assert client.get("/pay/" + "x" * 32 + "/").status_code == 404
    assert client.get(f"/pay/{invoice.pay_token[:-1]}/").status_code == 404
    assert len(invoice.pay_token) >= 22  # token_urlsafe(24): 192 bits


def test_the_pay_page_is_rate_limited_per_address(client, invoice, settings):
    settings.PAY_PAGE_RATE_LIMIT = 3
    codes = [client.get(_pay_url(invoice)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_pay_page_links_the_pdf(client, invoice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = client.get(f"{_pay_url(invoice)}pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_each_click_creates_a_fresh_checkout_session_for_the_amount_due(
    client, invoice, fake_stripe
):
    first = _click_pay(client, invoice)
    second = _click_pay(client, invoice)
    assert first != second and first.startswith(fake_stripe.base_url)
    a1, a2 = PaymentAttempt.objects.order_by("number")
    assert (a1.status, a2.status) == (AttemptStatus.CANCELED, AttemptStatus.CREATED)
    assert fake_stripe.objects[a1.checkout_session_id]["status"] == "expired"
    (create, _) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    params = create["params"]
    assert create["idempotency_key"] == a1.idempotency_key == f"psa-inv{invoice.pk}-att1"
    assert params["line_items"][0]["price_data"]["unit_amount"] == "120000"
    assert params["metadata"] == {"invoice": str(invoice.pk), "attempt": str(a1.pk)}
    assert params["payment_intent_data"]["metadata"] == params["metadata"]
    assert "setup_future_usage" not in params["payment_intent_data"]


def test_paying_by_card_is_confirmed_by_the_webhook_with_stripes_fee_booked(
    client, firm, invoice, fake_stripe, eager, django_capture_on_commit_callbacks
):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    pi = fake_stripe.complete_checkout(attempt.checkout_session_id)
    session = fake_stripe.objects[attempt.checkout_session_id]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(client, fake_stripe.event("checkout.session.completed", session))
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert (payment.amount, payment.fee, payment.payment_intent_id) == (
        D("1200.00"), D("35.10"), pi["id"],  # 2.9 % of 1,200 + 0.30
    )  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    books = balances_by_role(legal_entity=firm, as_of=LATER)
    assert books["stripe_clearing"] == D("1164.90")
    assert books["payment_fees"] == D("35.10")
    assert books["accounts_receivable"] == D("0")
    assert StripeEvent.objects.get().processed_at is not None


def test_the_return_redirect_confirms_and_then_the_page_shows_paid(client, invoice, fake_stripe):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    page = client.get(f"{_pay_url(invoice)}?session_id={attempt.checkout_session_id}")
    assert 'data-testid="pay-status">processing<' in page.content.decode()  # not paid yet
    fake_stripe.complete_checkout(attempt.checkout_session_id)
    page = client.get(f"{_pay_url(invoice)}?session_id={attempt.checkout_session_id}")
    assert 'data-testid="pay-status">paid<' in page.content.decode()
    assert Payment.objects.count() == 1
    # The webhook arriving afterwards finds the payment already recorded.
    session = fake_stripe.objects[attempt.checkout_session_id]
    post_event(client, fake_stripe.event("checkout.session.completed", session))
    stripe_event_process(event_id=StripeEvent.objects.get().pk)
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="payment").count() == 1


def test_duplicate_and_reversed_events_record_one_payment(client, invoice, fake_stripe):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    pi = fake_stripe.complete_checkout(attempt.checkout_session_id)
    session = fake_stripe.objects[attempt.checkout_session_id]
    completed = fake_stripe.event("checkout.session.completed", session)
    succeeded = fake_stripe.event("payment_intent.succeeded", pi)
    # Reversed order (the intent's event first), and the session event delivered twice.
    for event in (succeeded, completed, completed):
        assert post_event(client, event).status_code == 200
    assert StripeEvent.objects.count() == 2  # the duplicate was not stored again
    for row in StripeEvent.objects.order_by("received_at"):
        stripe_event_process(event_id=row.pk)
        stripe_event_process(event_id=row.pk)  # a redelivered task changes nothing
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="payment").count() == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED


def test_a_late_failure_event_never_moves_a_succeeded_attempt_back(client, invoice, fake_stripe):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    pi = fake_stripe.complete_checkout(attempt.checkout_session_id)
    payment_confirm(attempt=attempt, source="redirect")
    # A stale "requires_payment_method" snapshot: the handler re-reads the intent (succeeded).
    post_event(client, fake_stripe.event("payment_intent.payment_failed",
                                         {**pi, "status": "requires_payment_method"}))  # fmt: skip
    stripe_event_process(event_id=StripeEvent.objects.get().pk)
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "stale timestamp", "future timestamp", "tampered body", "no signature"],
)
def test_unverifiable_webhooks_are_refused_and_nothing_is_written(client, fake_stripe, how):
    event = fake_stripe.event(
        "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}
    )
    if how == "wrong secret":
        response = post_event(client, event, secret="whsec_someone_else")
    elif how == "stale timestamp":
        response = post_event(client, event, timestamp=int(time.time()) - 600)
    elif how == "future timestamp":  # beyond the 5-minute tolerance
        response = post_event(client, event, timestamp=int(time.time()) + 600)
    elif how == "tampered body":
        header = fake_stripe.sign('{"id": "evt_other"}', WHSEC)
        response = client.post(
            "/webhooks/stripe/", data='{"id": "evt_x", "type": "x"}',
            content_type="application/json", HTTP_STRIPE_SIGNATURE=header,
        )  # fmt: skip
    else:
        response = client.post("/webhooks/stripe/", data="{}", content_type="application/json")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_unknown_event_types_are_acknowledged_and_marked_processed(client, fake_stripe):
    event = fake_stripe.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    assert post_event(client, event).status_code == 200
    assert stripe_event_process(event_id=event["id"])
    assert StripeEvent.objects.get().processed_at is not None


def test_consent_saves_the_card_for_autopay(client, invoice, fake_stripe):
    _click_pay(client, invoice, save_card="1")
    attempt = PaymentAttempt.objects.get()
    assert attempt.save_card
    (create,) = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert create["params"]["payment_intent_data"]["setup_future_usage"] == "off_session"
    fake_stripe.complete_checkout(attempt.checkout_session_id, pm="pm_card_visa")
    payment_confirm(attempt=attempt, source="redirect")
    method = PaymentMethod.objects.get()
    assert method.customer_id == invoice.customer_id
    assert method.autopay_consent_at is not None and "automatically" in method.consent_text
    assert method.stripe_payment_method_id == "pm_card_visa"


def test_without_consent_no_card_is_kept(client, invoice, fake_stripe):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    fake_stripe.complete_checkout(attempt.checkout_session_id)
    payment_confirm(attempt=attempt, source="redirect")
    assert not PaymentMethod.objects.exists()


def test_a_paid_invoice_offers_no_card_payment(client, invoice, fake_stripe):
    from billing.services.payments import payment_record

    payment_record(invoice=invoice, amount="1200.00")
    html = client.get(_pay_url(invoice)).content.decode()
    assert 'data-testid="pay-status">paid<' in html and "by card" not in html
    response = client.post(f"{_pay_url(invoice)}checkout/")
    assert response.status_code == 302 and "error=nothing_due" in response["Location"]
    assert not PaymentAttempt.objects.exists()


def test_the_processing_status_polls_with_htmx_and_gets_only_the_fragment(
    client, invoice, fake_stripe
):
    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    url = f"{_pay_url(invoice)}?session_id={attempt.checkout_session_id}"
    page = client.get(url).content.decode()
    assert 'hx-trigger="load delay:3s"' in page
    fake_stripe.complete_checkout(attempt.checkout_session_id)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="pay-status"')
    assert 'data-testid="pay-status">paid<' in fragment and "<html" not in fragment
    assert "hx-trigger" not in fragment  # confirmed: polling stops


def test_an_expired_session_cancels_its_open_attempt(client, invoice, fake_stripe):
    from billing.services.gateway import checkout_session_expire

    _click_pay(client, invoice)
    attempt = PaymentAttempt.objects.get()
    session = checkout_session_expire(attempt.checkout_session_id)
    event = fake_stripe.event("checkout.session.expired", session)
    post_event(client, event)
    stripe_event_process(event_id=event["id"])
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.CANCELED
