"""The lead pipeline: guarded transitions through services, and who may see and act."""

from __future__ import annotations

import pytest

from crm.models import Customer, LeadStatus
from crm.services import lead_convert, lead_disqualify, lead_qualify
from psa.kernel import errors
from psa.kernel.audit import audit_history
from tests.crm.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_qualify_moves_a_new_lead_and_is_audited(project_manager):
    lead = LeadFactory()
    lead = lead_qualify(lead=lead, actor=project_manager)
    assert lead.status == LeadStatus.QUALIFIED
    event = audit_history(lead).get()
    assert (event.action, event.actor, event.before, event.after) == (
        "lead.qualify",
        project_manager,
        {"status": "new"},
        {"status": "qualified"},
    )


def test_qualifying_twice_is_quiet(project_manager):
    lead = LeadFactory(status=LeadStatus.QUALIFIED)
    assert lead_qualify(lead=lead, actor=project_manager).status == LeadStatus.QUALIFIED
    assert audit_history(lead).count() == 0


@pytest.mark.parametrize("status", [LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED])
def test_a_closed_lead_cannot_be_qualified(finance, status):
    customer = CustomerFactory()
    lead = LeadFactory(status=status, customer=customer, disqualify_reason="spam")
    with pytest.raises(errors.Conflict):
        lead_qualify(lead=lead, actor=finance)


def test_disqualify_needs_a_reason(project_manager):
    lead = LeadFactory()
    with pytest.raises(errors.ValidationFailed) as exc:
        lead_disqualify(lead=lead, actor=project_manager, reason="  ")
    assert "reason" in exc.value.fields
    lead = lead_disqualify(lead=lead, actor=project_manager, reason="Student project")
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.DISQUALIFIED, "Student project")
    assert audit_history(lead).get().reason == "Student project"


def test_convert_creates_the_customer_and_contact_from_the_lead(project_manager):
    lead = LeadFactory(
        company="Orbital Foods", name="Priya Shah", email="priya@orbital.example", owner=None
    )
    lead = lead_convert(lead=lead, actor=project_manager)
    assert lead.status == LeadStatus.CONVERTED
    customer = lead.customer
    assert customer.name == "Orbital Foods"
    assert customer.legal_entity == lead.legal_entity
    assert customer.currency == lead.legal_entity.functional_currency
    assert customer.billing_email == "priya@orbital.example"
    assert lead.contact.customer == customer
    assert (lead.contact.name, lead.contact.email) == ("Priya Shah", "priya@orbital.example")


def test_convert_of_a_lead_matched_to_a_customer_makes_no_twin(project_manager):
    customer = CustomerFactory(name="Orbital Foods")
    lead = LeadFactory(legal_entity=customer.legal_entity, customer=customer, company="Orbital")
    lead = lead_convert(lead=lead, actor=project_manager)
    assert lead.customer == customer
    assert Customer.objects.count() == 1
    assert customer.contacts.get().email == lead.email


def test_convert_is_refused_for_a_disqualified_lead(project_manager):
    lead = LeadFactory(status=LeadStatus.DISQUALIFIED, disqualify_reason="spam")
    with pytest.raises(errors.Conflict):
        lead_convert(lead=lead, actor=project_manager)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_only_managers_and_finance_move_leads(request, persona):
    user = request.getfixturevalue(persona)
    lead = LeadFactory()
    with pytest.raises(errors.PermissionDenied):
        lead_qualify(lead=lead, actor=user)
    with pytest.raises(errors.PermissionDenied):
        lead_convert(lead=lead, actor=user)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


# --- pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["project_manager", "finance", "admin_user"])
def test_managers_finance_and_admins_see_the_pipeline(client, request, persona):
    LeadFactory(name="Priya Shah")
    LeadFactory(name="Tom Jones", status=LeadStatus.QUALIFIED)
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/crm/leads/")
    assert response.status_code == 200
    columns = {c["status"]: [lead.name for lead in c["leads"]] for c in response.context["columns"]}
    assert columns["new"] == ["Priya Shah"]
    assert columns["qualified"] == ["Tom Jones"]


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_consultants_and_outsiders_get_403(client, request, persona):
    lead = LeadFactory()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/crm/leads/").status_code == 403
    assert client.get(f"/crm/leads/{lead.pk}/").status_code == 403
    assert client.post(f"/crm/leads/{lead.pk}/qualify/").status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/crm/leads/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_plain_post_qualifies_and_returns_to_the_pipeline(client, project_manager):
    lead = LeadFactory()
    client.force_login(project_manager)
    response = client.post(f"/crm/leads/{lead.pk}/qualify/")
    assert response.status_code == 302
    assert response["Location"] == "/crm/leads/"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_htmx_disqualify_returns_the_board_fragment(client, project_manager):
    lead = LeadFactory(name="Spam Bot")
    client.force_login(project_manager)
    response = client.post(
        f"/crm/leads/{lead.pk}/disqualify/", {"reason": "Spam"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "Reason: Spam" in html
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED


def test_disqualify_without_a_reason_is_a_400_naming_the_field(client, project_manager):
    lead = LeadFactory()
    client.force_login(project_manager)
    response = client.post(f"/crm/leads/{lead.pk}/disqualify/", {"reason": ""})
    assert response.status_code == 400
    assert "reason" in response.content.decode()


def test_an_illegal_move_is_a_409(client, project_manager):
    lead = LeadFactory(status=LeadStatus.DISQUALIFIED, disqualify_reason="spam")
    client.force_login(project_manager)
    assert client.post(f"/crm/leads/{lead.pk}/qualify/").status_code == 409


def test_convert_page_action_opens_the_new_customer(client, finance):
    lead = LeadFactory(company="Orbital Foods")
    client.force_login(finance)
    response = client.post(f"/crm/leads/{lead.pk}/convert/")
    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/crm/customers/{lead.customer_id}/"
    detail = client.get(f"/crm/leads/{lead.pk}/")
    assert "lead.convert" in detail.content.decode()


def test_navigation_shows_leads_and_customers_to_managers_and_finance(
    project_manager, finance, consultant
):
    from psa.kernel.navigation import items_for

    def labels(user):
        return {item["label"] for item in items_for(user, "/")}

    assert {"Leads", "Customers"} <= labels(project_manager)
    assert {"Leads", "Customers"} <= labels(finance)
    assert not {"Leads", "Customers"} & labels(consultant)


def test_a_manager_enters_a_lead_by_hand(client, project_manager):
    from crm.models import Lead, LeadSource
    from tests.ledger.factories import LegalEntityFactory

    entity = LegalEntityFactory()
    client.force_login(project_manager)
    assert client.get("/crm/leads/new/").status_code == 200
    data = {"legal_entity": entity.pk, "owner": "", "name": "Dana Lee", "company": "Nimbus",
            "email": "dana@nimbus.example", "phone": "", "website": "",
            "message": "Met at a conference."}  # fmt: skip
    response = client.post("/crm/leads/new/", {**data, "email": "dana"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    response = client.post("/crm/leads/new/", data)
    lead = Lead.objects.get()
    assert response["Location"] == f"/crm/leads/{lead.pk}/"
    assert (lead.source, lead.owner, lead.legal_entity) == (
        LeadSource.MANUAL,
        project_manager,
        entity,
    )
    # The same person again attaches to the open lead.
    client.post("/crm/leads/new/", {**data, "message": "Sent a proposal."})
    lead.refresh_from_db()
    assert Lead.objects.count() == 1 and lead.submissions == 2
    page = client.get(f"/crm/leads/{lead.pk}/").content.decode()
    assert "Sent a proposal." in page and "lead.repeat" in page


def test_consultants_cannot_enter_leads(client, consultant):
    client.force_login(consultant)
    assert client.get("/crm/leads/new/").status_code == 403


def test_the_pipeline_query_count_does_not_grow_with_leads(client, project_manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(project_manager)
    customer = CustomerFactory()

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/crm/leads/").status_code == 200
        return len(ctx.captured_queries)

    LeadFactory(customer=customer)
    few = queries()
    for status in LeadStatus:
        LeadFactory.create_batch(
            8, status=status, customer=customer, disqualify_reason="spam", owner=project_manager
        )
    assert queries() == few


def test_a_refused_htmx_move_returns_the_board_with_the_message(client, project_manager):
    lead = LeadFactory(name="Gone Away", status=LeadStatus.DISQUALIFIED, disqualify_reason="spam")
    client.force_login(project_manager)
    response = client.post(f"/crm/leads/{lead.pk}/qualify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only 2xx: the board shows the refusal
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert 'role="alert"' in html and "cannot be qualified" in html
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED
