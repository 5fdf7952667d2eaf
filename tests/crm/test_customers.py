"""Customers and contacts: scoped pages and validating services."""

from __future__ import annotations

import pytest

from crm.models import Customer
from crm.selectors import customer_list_visible_to
from crm.services import contact_create, customer_create, customer_update
from psa.kernel import errors
from tests.crm.factories import ContactFactory, CustomerFactory
from tests.ledger.factories import LegalEntityFactory
from tests.projects.factories import ProjectFactory
from tests.psa.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(project, project_manager):
    """Apollo's customer (the manager's project), one the manager looks after, one other."""
    mine_by_project = project.customer
    mine_by_account = CustomerFactory(name="Account-managed", account_manager=project_manager)
    other = CustomerFactory(name="Someone else's")
    ProjectFactory(customer=other)  # managed by another manager
    return mine_by_project, mine_by_account, other


def test_finance_and_admins_see_every_customer(finance, admin_user, customers):
    assert set(customer_list_visible_to(finance)) == set(customers)
    assert set(customer_list_visible_to(admin_user)) == set(customers)


def test_a_manager_sees_the_customers_of_their_projects_and_accounts(project_manager, customers):
    by_project, by_account, _other = customers
    ProjectFactory(customer=by_project, manager=project_manager)  # a second project: no twin row
    assert list(customer_list_visible_to(project_manager).order_by("pk")) == [
        by_project,
        by_account,
    ]


def test_consultants_and_outsiders_see_none(consultant, outsider, customers):
    assert not customer_list_visible_to(consultant).exists()
    assert not customer_list_visible_to(outsider).exists()


def test_customer_pages_follow_the_same_scope(client, project_manager, customers):
    by_project, _by_account, other = customers
    client.force_login(project_manager)
    response = client.get("/crm/customers/")
    assert response.status_code == 200
    names = [c.name for c in response.context["customers"]]
    assert other.name not in names and by_project.name in names
    assert client.get(f"/crm/customers/{by_project.pk}/").status_code == 200
    assert client.get(f"/crm/customers/{other.pk}/").status_code == 404
    assert client.get(f"/crm/customers/{other.pk}/edit/").status_code == 404


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_consultants_and_outsiders_get_403_on_customer_pages(client, request, persona, customers):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/crm/customers/").status_code == 403
    assert client.get(f"/crm/customers/{customers[0].pk}/").status_code == 403


def test_htmx_search_returns_only_the_rows(client, finance, customers):
    client.force_login(finance)
    response = client.get("/crm/customers/", {"q": "account"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<tbody id="customer-rows"')
    assert "Account-managed" in html and "Someone else" not in html


def test_customer_create_validates_and_names_fields(finance):
    entity = LegalEntityFactory()
    with pytest.raises(errors.ValidationFailed) as exc:
        customer_create(
            actor=finance,
            legal_entity=entity,
            name="",
            country="Britain",
            currency="pounds",
            billing_email="not-an-email",
        )
    assert set(exc.value.fields) >= {"name", "country", "currency", "billing_email"}
    customer = customer_create(
        actor=finance, legal_entity=entity, name="Orbital", country="gb", currency="gbp"
    )
    assert (customer.country, customer.currency) == ("GB", "GBP")
    with pytest.raises(errors.ValidationFailed) as exc:
        customer_create(
            actor=finance, legal_entity=entity, name="orbital", country="GB", currency="GBP"
        )
    assert "already has a customer called" in exc.value.fields["name"][0]


def test_customer_update_changes_fields_and_audits(finance):
    customer = CustomerFactory(payment_terms_days=30)
    with pytest.raises(errors.ValidationFailed) as exc:
        customer_update(customer=customer, actor=finance, payment_terms_days=400)
    assert "payment_terms_days" in exc.value.fields
    customer = customer_update(customer=customer, actor=finance, payment_terms_days=14)
    assert Customer.objects.get(pk=customer.pk).payment_terms_days == 14
    from psa.kernel.audit import audit_history

    event = audit_history(customer).get(action="customer.update")
    assert (event.before, event.after) == ({"payment_terms_days": 30}, {"payment_terms_days": 14})


def test_consultants_cannot_create_customers(consultant):
    with pytest.raises(errors.PermissionDenied):
        customer_create(
            actor=consultant,
            legal_entity=LegalEntityFactory(),
            name="X",
            country="GB",
            currency="GBP",
        )


def test_contact_create_refuses_a_duplicate_email(finance):
    contact = ContactFactory(email="cfo@orbital.example")
    with pytest.raises(errors.ValidationFailed) as exc:
        contact_create(
            actor=finance, customer=contact.customer, name="Other", email="CFO@orbital.example"
        )
    assert "email" in exc.value.fields
    with pytest.raises(errors.ValidationFailed) as exc:
        contact_create(actor=finance, customer=contact.customer, name="", email="x@y")
    assert set(exc.value.fields) == {"name", "email"}


def test_edit_page_saves_and_shows_field_errors(client, finance):
    customer = CustomerFactory(name="Orbital")
    client.force_login(finance)
    data = {
        "name": "Orbital Foods",
        "legal_name": "Orbital Foods Ltd",
        "billing_address": "1 Road",
        "country": "GB",
        "currency": "GBP",
        "payment_terms_days": "45",
        "tax_id": "",
        "tax_treatment": "domestic",
        "billing_email": "ap@orbital.example",
        "account_manager": "",
        "is_active": "on",
    }
    response = client.post(f"/crm/customers/{customer.pk}/edit/", {**data, "currency": "euro"})
    assert response.status_code == 400
    assert "currency" in response.context["form"].errors
    response = client.post(f"/crm/customers/{customer.pk}/edit/", data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.payment_terms_days) == ("Orbital Foods", 45)


def test_new_customer_page_creates_one(client, finance):
    entity = LegalEntityFactory()
    client.force_login(finance)
    assert client.get("/crm/customers/new/").status_code == 200
    response = client.post(
        "/crm/customers/new/",
        {
            "legal_entity": entity.pk,
            "name": "Nimbus",
            "country": "DE",
            "currency": "EUR",
            "payment_terms_days": "30",
            "tax_treatment": "domestic",
            "is_active": "on",
        },
    )
    customer = Customer.objects.get(name="Nimbus")
    assert response["Location"] == f"/crm/customers/{customer.pk}/"


def test_add_contact_with_htmx_returns_the_contacts_fragment(client, finance):
    customer = CustomerFactory()
    client.force_login(finance)
    response = client.post(
        f"/crm/customers/{customer.pk}/contacts/",
        {"name": "Dana Lee", "email": "dana@customer.test", "phone": "", "title": "CFO"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Dana Lee" in response.content.decode()
    assert customer.contacts.get().title == "CFO"


def test_the_customer_list_query_count_does_not_grow_with_customers(client, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(finance)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/crm/customers/").status_code == 200
        return len(ctx.captured_queries)

    CustomerFactory(account_manager=finance)
    few = queries()
    for n in range(20):
        CustomerFactory(account_manager=UserFactory(), name=f"More {n}")
    assert queries() == few


def test_a_contact_is_edited_on_its_page_with_errors_named(
    client, finance, project_manager, outsider
):
    from crm.models import Contact
    from tests.crm.factories import ContactFactory, CustomerFactory

    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, name="Sam", email="sam@north.test")
    ContactFactory(customer=customer, name="Kim", email="kim@north.test")
    url = f"/crm/contacts/{contact.pk}/edit/"
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(project_manager)  # not their customer
    assert client.get(url).status_code == 404
    client.force_login(finance)
    assert client.get(url).status_code == 200
    clash = client.post(url, {"name": "Sam", "email": "kim@north.test"})
    assert clash.status_code == 400
    assert "Another contact of this customer has this e-mail." in clash.content.decode()
    saved = client.post(url, {"name": "Sam Lee", "email": "sam@north.test", "title": "CFO"})
    assert saved.status_code == 302
    assert Contact.objects.get(pk=contact.pk).title == "CFO"
    assert (
        f"/crm/contacts/{contact.pk}/edit/"
        in client.get(f"/crm/customers/{customer.pk}/").content.decode()
    )
