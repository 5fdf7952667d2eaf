"""Subscription usage over the API: finance sets the quantity a period bills."""

import datetime as dt
import json

import pytest

from billing.models import FeeKind, UsageQuantity
from billing.services import billing_run_execute
from billing.services.recurring import recurring_fee_create
from psa.kernel.services import api_token_create
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fee():
    entity = books(code="uk", functional_currency="GBP")
    customer = CustomerFactory(legal_entity=entity, currency="GBP")
    project = ProjectFactory(customer=customer, billing_model="subscription")
    return recurring_fee_create(
        project=project, kind=FeeKind.SUBSCRIPTION, description="Devices", unit_price="10",
        quantity="3", start_date=dt.date(2026, 12, 1), actor=None,
    )  # fmt: skip


def put(client, fee, period, body, **headers):
    return client.put(
        f"/api/v1/billing/fees/{fee.pk}/usage/{period}/",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_finance_sets_usage_and_lists_fees(client, finance, fee):
    client.force_login(finance)
    response = put(client, fee, "2027-01-01", {"quantity": "42"})
    assert response.status_code == 200
    assert response.json()["quantity"] == "42.00"
    (listed,) = client.get("/api/v1/billing/fees/").json()["results"]
    assert listed["usage"][0] == {**response.json()}
    bad = put(client, fee, "2027-01-15", {"quantity": "4"})
    assert bad.status_code == 400 and "period_start" in bad.json()["error"]["fields"]
    negative = put(client, fee, "2027-02-01", {"quantity": "-4"})
    assert negative.status_code == 400 and "quantity" in negative.json()["error"]["fields"]
    billing_run_execute(legal_entity=fee.project.legal_entity, period_end=dt.date(2026, 11, 30))
    billed = put(client, fee, "2026-12-01", {"quantity": "9"})
    assert billed.status_code == 409
    assert UsageQuantity.objects.filter(period_start=dt.date(2026, 12, 1)).count() == 0


def test_tokens_need_billing_write_and_others_are_refused(client, finance, consultant, fee):
    _, read_only = api_token_create(user=finance, name="BI", scopes=["billing:read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}
    assert client.get("/api/v1/billing/fees/", **auth).status_code == 200
    assert put(client, fee, "2027-01-01", {"quantity": "1"}, **auth).status_code == 403
    _, writer = api_token_create(user=finance, name="Metering", scopes=["billing:write"])
    ok = put(client, fee, "2027-01-01", {"quantity": "1"}, HTTP_AUTHORIZATION=f"Bearer {writer}")
    assert ok.status_code == 200
    client.force_login(consultant)
    assert client.get("/api/v1/billing/fees/").status_code == 403
