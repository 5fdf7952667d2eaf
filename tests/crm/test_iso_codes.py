"""A customer's currency is an ISO 4217 code of a supported currency and its country an
ISO 3166 code, on the page as in the service: XXQ and ZZ are refused naming the field."""

import pytest

from crm.models import Customer
from crm.services import customer_create
from psa.kernel import errors
from tests.ledger.factories import LegalEntityFactory

pytestmark = pytest.mark.django_db
PAGE = {"name": "Nimbus", "country": "DE", "currency": "EUR", "payment_terms_days": "30",
        "tax_treatment": "domestic", "is_active": "on"}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"), [("currency", "XXQ"), ("currency", "XAU"), ("country", "ZZ")]
)
def test_the_page_refuses_an_unknown_code_beside_the_field(client, finance, field, value):
    entity = LegalEntityFactory()
    client.force_login(finance)
    response = client.post(
        "/crm/customers/new/", {**PAGE, "legal_entity": entity.pk, field: value}
    )  # fmt: skip
    assert response.status_code in (200, 400)
    assert field in response.context["form"].errors
    assert not Customer.objects.exists()


def test_the_service_names_the_field(finance):
    entity = LegalEntityFactory()
    with pytest.raises(errors.ValidationFailed) as caught:
        customer_create(actor=finance, legal_entity=entity, name="X", country="ZZ", currency="XXQ")
    assert {"country", "currency"} <= set(caught.value.fields)
    kuwaiti = customer_create(
        actor=finance, legal_entity=entity, name="Gulf", country="KW", currency="KWD"
    )  # fmt: skip
    assert kuwaiti.currency == "KWD"
