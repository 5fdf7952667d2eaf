# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Outbound calls made inside web requests have short timeouts and a clear "try again"
message: Stripe (the pay button), SMTP (password reset); and Stripe webhooks signed in the
future are refused."""

import socket
import threading
import time

import pytest
from django.core.mail import get_connection

from billing.models import AttemptStatus, PaymentAttempt, StripeEvent
from tests.billing.payment_fixtures import (  # noqa: F401
    customer,
    fake_stripe,
    firm,
    invoice,
    post_event,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanging_stripe(fake_stripe, settings, monkeypatch):
    """Stripe accepts the connection and answers only after 20 s (or when the test ends)."""
    release = threading.Event()
    answer = fake_stripe._handle

    def slow(handler, method):
        release.wait(20)
        answer(handler, method)

    monkeypatch.setattr(fake_stripe, "_handle", slow)
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    yield fake_stripe
    release.set()


def test_a_hanging_stripe_gives_the_payer_a_retry_message(client, invoice, hanging_stripe):
    response = client.post(f"/pay/{invoice.pay_token}/checkout/")
    assert response.status_code == 302
    assert response["Location"] == f"/pay/{invoice.pay_token}/?error=stripe_unavailable"
    page = client.get(response["Location"]).content.decode()
    assert "Card payment is unavailable right now; please try again shortly" in page
    attempt = PaymentAttempt.objects.get()
    assert attempt.status == AttemptStatus.FAILED


def test_the_stripe_timeout_is_at_most_ten_seconds(settings):
    from django.conf import settings as live

    assert live.STRIPE_TIMEOUT_SECONDS <= 10


def test_smtp_has_a_timeout_of_at_most_ten_seconds():
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert connection.timeout is not None and connection.timeout <= 10


@pytest.fixture
def silent_smtp():
    """An SMTP server that accepts connections and never greets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    stop.set()
    for conn in held:
        conn.close()
    server.close()


def test_password_reset_answers_when_smtp_never_greets(client, consultant, settings,
                                                      silent_smtp):  # fmt: skip
    """The send gives up after EMAIL_TIMEOUT (without one it would wait for ever); Django logs
    the failure and the page answers as for any address."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent_smtp
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 0.5
    response = client.post("/accounts/password/reset/", {"email": consultant.email})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"


def test_a_webhook_signed_in_the_future_is_refused_within_tolerance_accepted(client, fake_stripe):
    event = fake_stripe.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"})
    assert post_event(client, event, timestamp=int(time.time()) + 3600).status_code == 400
    assert not StripeEvent.objects.exists()
    assert post_event(client, event, timestamp=int(time.time()) + 30).status_code == 200
