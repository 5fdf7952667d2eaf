"""FX rates over the API: list with filters, set a day's rate (created, then replaced)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from ledger.models import FxRate
from ledger.selectors import fx_rate_for
from tests.api.conftest import as_token, as_user

pytestmark = pytest.mark.django_db
RATES = "/api/v1/ledger/fx-rates/"


@pytest.fixture
def rates(db):
    for day, currency, rate in ((1, "USD", "0.79"), (2, "USD", "0.80"), (2, "EUR", "0.86")):
        FxRate.objects.create(currency=currency, functional_currency="GBP",
                              date=dt.date(2026, 11, day), rate=D(rate))  # fmt: skip


def test_list_filters_by_currency_and_date_range(finance, rates):
    client = as_user(finance)
    usd = client.get(RATES, {"currency": "USD"}).json()["results"]
    assert [(r["date"], r["rate"]) for r in usd] == [
        ("2026-11-02", "0.8000000000"), ("2026-11-01", "0.7900000000")]  # fmt: skip
    day2 = client.get(RATES, {"date_after": "2026-11-02", "date_before": "2026-11-02"})
    assert sorted(r["currency"] for r in day2.json()["results"]) == ["EUR", "USD"]
    assert client.get(RATES, {"date_after": "9999-12-31"}).status_code == 400
    assert client.get(RATES, {"ordering": "rate"}).status_code == 400


def test_setting_a_day_s_rate_creates_then_replaces_it(finance, rates):
    client = as_token(finance, "ledger:write")
    body = {"currency": "USD", "functional_currency": "GBP", "date": "2026-11-03",
            "rate": "0.8123456789"}  # fmt: skip
    created = client.post(RATES, body, format="json")
    assert created.status_code == 201, created.content
    replaced = client.post(RATES, {**body, "rate": "0.81"}, format="json")
    assert replaced.status_code == 200
    assert replaced.json()["id"] == created.json()["id"]
    on = dt.date(2026, 11, 5)
    assert fx_rate_for(currency="USD", functional="GBP", on=on) == D("0.81")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXQ"}, "currency"),
        ({"functional_currency": "gbp"}, "functional_currency"),
        ({"currency": "GBP"}, "currency"),
        ({"rate": "0"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"rate": "0.12345678901"}, "rate"),
        ({"date": "0001-01-01"}, "date"),
        ({"source": "ecb"}, "source"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, change, field):
    body = {"currency": "USD", "functional_currency": "GBP", "date": "2026-11-03", "rate": "0.8"}
    response = as_user(finance).post(RATES, {**body, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not FxRate.objects.exists()


def test_fx_rates_are_for_finance(consultant, project_manager, finance):
    body = {"currency": "USD", "functional_currency": "GBP", "date": "2026-11-03", "rate": "0.8"}
    for user in (consultant, project_manager):
        assert as_user(user).get(RATES).status_code == 403
        assert as_user(user).post(RATES, body, format="json").status_code == 403
    assert as_token(finance, "ledger:read").post(RATES, body, format="json").status_code == 403
    assert not FxRate.objects.exists()


def test_an_idempotency_key_replays_the_first_answer(finance):
    client = as_token(finance, "ledger:write")
    body = {"currency": "USD", "functional_currency": "GBP", "date": "2026-11-03", "rate": "0.8"}
    first = client.post(RATES, body, format="json", HTTP_IDEMPOTENCY_KEY="fx-1")
    again = client.post(RATES, body, format="json", HTTP_IDEMPOTENCY_KEY="fx-1")
    assert first.status_code == again.status_code == 201
    assert FxRate.objects.count() == 1
