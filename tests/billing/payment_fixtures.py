"""Fixtures of the payment tests: a firm with an issued invoice, the fake Stripe, eager Celery."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, LineKind
from billing.services import invoice_issue
from psa.celery import app
from tests.crm.factories import CustomerFactory
from tests.fakes.stripe_server import FakeStripe
from tests.ledger.factories import books

WHSEC = "whsec_test_" + "k" * 24
# Issued today, so the pay page shows "due" (not "overdue"); services take explicit dates.
ISSUED_ON = timezone.localdate()
LATER = ISSUED_ON + dt.timedelta(days=400)
DUE = ISSUED_ON + dt.timedelta(days=14)


def make_invoice(customer, *, net=D("1000.00"), tax=D("200.00"), today=ISSUED_ON) -> Invoice:
    draft = Invoice.objects.create(
        legal_entity=customer.legal_entity, customer=customer, currency=customer.currency,
        subtotal=net, tax_total=tax, total=net + tax, pay_token=secrets.token_urlsafe(24),
    )  # fmt: skip
    InvoiceLine.objects.create(
        invoice=draft, position=1, kind=LineKind.ADJUSTMENT, description="Consulting",
        quantity=D(1), unit_price=net, net=net, tax=tax, tax_rate_value=tax / net if net else 0,
    )  # fmt: skip
    return invoice_issue(invoice=draft, actor_label="test", today=today)


@pytest.fixture
def firm(db):
    entity = books(code="uk", functional_currency="GBP", name="Acme UK")
    entity.bank_details = "IBAN GB29 NWBK 6016 1331 9268 19"
    entity.save()
    return entity


@pytest.fixture
def customer(firm):
    return CustomerFactory(
        legal_entity=firm, name="Northwind", currency="GBP", payment_terms_days=14,
        billing_email="ap@northwind.test",
    )  # fmt: skip


@pytest.fixture
def invoice(customer):
    return make_invoice(customer)


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_WEBHOOK_SECRET = WHSEC
    yield fake
    fake.stop()


@pytest.fixture
def eager():
    """Tasks sent after commit run in-process, as a worker would run them."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def post_event(client, event: dict, *, secret: str = WHSEC, timestamp: int | None = None):
    body = json.dumps(event)
    header = FakeStripe.sign(body, secret, timestamp=timestamp)
    return client.post(
        "/webhooks/stripe/", data=body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )  # fmt: skip
