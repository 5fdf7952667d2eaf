"""Tax rates over the API: list, create, change with If-Match; one default per entity."""

from decimal import Decimal as D

import pytest

from billing.models import TaxRate
from tests.api.conftest import as_token, as_user
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db
RATES = "/api/v1/billing/tax-rates/"


@pytest.fixture
def uk(db):
    entity = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=entity, name="VAT 20%", rate=D("0.20"), is_default=True)
    return entity


def test_list_filters_by_entity(finance, uk):
    books(code="de", functional_currency="EUR", name="Acme DE")
    response = as_user(finance).get(RATES, {"legal_entity": "uk"})
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["results"]] == ["VAT 20%"]
    assert as_user(finance).get(RATES, {"legal_entity": "de"}).json()["count"] == 0
    assert as_user(finance).get(RATES, {"ordering": "nope"}).status_code == 400


def test_a_new_default_takes_the_flag_from_the_old(finance, uk):
    response = as_token(finance, "billing:write").post(
        RATES, {"legal_entity": "uk", "name": "VAT 5%", "rate": "0.05", "is_default": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["rate"] == "0.0500"
    defaults = TaxRate.objects.filter(legal_entity=uk, is_default=True)
    assert [t.name for t in defaults] == ["VAT 5%"]


def test_patch_with_if_match_and_a_stale_etag_is_412(finance, uk):
    tax = TaxRate.objects.create(legal_entity=uk, name="Zero", rate=D("0"))
    client = as_user(finance)
    read = client.get(f"{RATES}{tax.pk}/")
    etag = read["ETag"]
    changed = client.patch(f"{RATES}{tax.pk}/", {"name": "Zero rated", "is_default": True},
                           format="json", HTTP_IF_MATCH=etag)  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["is_default"] is True and changed.json()["name"] == "Zero rated"
    assert TaxRate.objects.filter(legal_entity=uk, is_default=True).count() == 1
    stale = client.patch(f"{RATES}{tax.pk}/", {"name": "Again"}, format="json",
                         HTTP_IF_MATCH=etag)  # fmt: skip
    assert stale.status_code == 412
    assert TaxRate.objects.get(pk=tax.pk).name == "Zero rated"


def test_the_default_cannot_be_deactivated(finance, uk):
    tax = TaxRate.objects.get(legal_entity=uk, is_default=True)
    response = as_user(finance).patch(f"{RATES}{tax.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 409
    assert "is_active" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"legal_entity": "uk", "name": "Big", "rate": "1.5"}, "rate"),
        ({"legal_entity": "uk", "name": "Neg", "rate": "-0.1"}, "rate"),
        ({"legal_entity": "uk", "name": "", "rate": "0.1"}, "name"),
        ({"legal_entity": "zz", "name": "X", "rate": "0.1"}, "legal_entity"),
        ({"legal_entity": "uk", "name": "X", "rate": "0.1", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, uk, body, field):
    response = as_user(finance).post(RATES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert TaxRate.objects.count() == 1


def test_tax_rates_are_for_finance(consultant, project_manager, finance, uk):
    for user in (consultant, project_manager):
        assert as_user(user).get(RATES).status_code == 403
    body = {"legal_entity": "uk", "name": "X", "rate": "0.1"}
    assert as_token(finance, "billing:read").post(RATES, body, format="json").status_code == 403
    assert TaxRate.objects.count() == 1
