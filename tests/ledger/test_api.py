import datetime as dt
import json
import urllib.request
from decimal import Decimal as D
from http.cookiejar import CookieJar

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import rules
from ledger.services import journal_post
from tests.conftest import PASSWORD
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db


@pytest.fixture
def uk():
    entity = books(code="uk", functional_currency="GBP")
    for n in range(3):
        journal_post(
            legal_entity=entity,
            event=rules.TimeApproved(amount=D("100.00"), currency="GBP", project_id=n),
            date=dt.date(2026, 1, 5 + n), source_type="week", source_id=str(n),
        )  # fmt: skip
    return entity


def test_reports_over_the_api(client, finance, uk):
    client.force_login(finance)
    tb = client.get("/api/v1/ledger/uk/reports/trial-balance/", {"as_of": "2026-01-06"}).json()
    assert tb["total_debit"] == tb["total_credit"] == "200.00"
    assert {a["code"]: a["balance"] for a in tb["accounts"]} == {"1150": "200.00", "4000": "200.00"}
    pnl = client.get(
        "/api/v1/ledger/uk/reports/profit-and-loss/", {"start": "2026-01-01", "end": "2026-01-31"}
    )
    assert [r["project"] for r in pnl.json()["rows"]] == [0, 1, 2]
    sheet = client.get("/api/v1/ledger/uk/reports/balance-sheet/").json()
    assert sheet["total_assets"] == sheet["total_liabilities_and_equity"] == "300.00"
    wip = client.get("/api/v1/ledger/uk/reports/unbilled-wip/").json()
    assert len(wip["projects"]) == 3
    aging = client.get("/api/v1/ledger/uk/reports/ar-aging/").json()
    assert aging["customers"] == []
    accounts = client.get("/api/v1/ledger/uk/accounts/").json()
    assert len(accounts) == 18


def test_bad_query_is_a_400_naming_the_field(client, finance, uk):
    client.force_login(finance)
    response = client.get("/api/v1/ledger/uk/reports/trial-balance/", {"as_of": "soon"})
    assert response.status_code == 400
    assert "as_of" in response.json()["error"]["fields"]
    response = client.get(
        "/api/v1/ledger/uk/reports/profit-and-loss/", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert response.json()["error"]["fields"] == {"end": ["The period ends before it starts."]}


@pytest.mark.parametrize("persona", ["consultant", "project_manager", "outsider"])
def test_the_books_api_is_for_finance_only(client, request, uk, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/api/v1/ledger/uk/reports/trial-balance/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_callers_are_asked_to_authenticate(client, uk):
    response = client.get("/api/v1/ledger/entities/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_entry_list_query_count_does_not_grow_with_page_size(client, finance, uk):
    client.force_login(finance)
    counts = []
    for size in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            body = client.get("/api/v1/ledger/uk/entries/", {"page_size": size}).json()
        assert len(body["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert body["results"][0]["lines"][0]["account"] in {"1150", "4000"}


@pytest.mark.django_db(transaction=True)
def test_a_real_http_client_reads_the_trial_balance(live_server, finance, uk):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = live_server.url + "/accounts/login/"
    opener.open(login)
    token = next(c.value for c in jar if c.name == "csrftoken")
    body = f"username={finance.email}&password={PASSWORD}&csrfmiddlewaretoken={token}".encode()
    opener.open(urllib.request.Request(login, data=body, headers={"Referer": login}))  # noqa: S310
    with opener.open(live_server.url + "/api/v1/ledger/uk/reports/trial-balance/") as response:
        data = json.load(response)
    assert response.status == 200
    assert data["total_debit"] == "300.00"
