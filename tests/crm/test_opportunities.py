"""Opportunities: editing, and "won" -> customer (if needed) + project in one transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import Contact, Customer, LeadStatus, Opportunity, OpportunityStage
from crm.services import opportunity_create, opportunity_lose, opportunity_update, opportunity_win
from projects.models import Project, TemplateMilestone, TemplateRate, TemplateTask
from psa.kernel import errors
from psa.kernel.audit import audit_history
from tests.crm.factories import CustomerFactory, LeadFactory, OpportunityFactory
from tests.projects.factories import ProjectFactory, ProjectTemplateFactory

pytestmark = pytest.mark.django_db

START = dt.date(2026, 12, 1)


@pytest.fixture
def template():
    tpl = ProjectTemplateFactory(code="discovery", billing_model="fixed_price", duration_days=90)
    TemplateTask.objects.create(template=tpl, name="Workshops")
    TemplateMilestone.objects.create(template=tpl, name="Kick-off", amount="2000", day_offset=0)
    TemplateMilestone.objects.create(template=tpl, name="Report", amount="8000", day_offset=30)
    TemplateRate.objects.create(template=tpl, role="", rate="110")
    return tpl


@pytest.fixture
def lead_opportunity(project_manager):
    lead = LeadFactory(company="Orbital Foods", name="Priya Shah", email="priya@orbital.example")
    lead.status = LeadStatus.QUALIFIED
    lead.save()
    return opportunity_create(
        actor=project_manager, lead=lead, name="Orbital discovery", value=Decimal("10000")
    )


def test_winning_a_lead_opportunity_creates_customer_contact_and_project(
    lead_opportunity, template, project_manager
):
    opp = opportunity_win(
        opportunity=lead_opportunity,
        actor=project_manager,
        template=template,
        project_code="ORB-DISC",
        start_date=START,
        manager=project_manager,
    )
    assert opp.stage == OpportunityStage.WON
    assert opp.probability == 100
    customer = Customer.objects.get(name="Orbital Foods")
    assert opp.customer == customer
    assert customer.contacts.get().email == "priya@orbital.example"
    project = opp.project
    assert (project.code, project.name, project.customer) == (
        "orb-disc",
        "Orbital discovery",
        customer,
    )
    assert project.manager == project_manager
    assert list(project.milestones.values_list("name", "planned_date")) == [
        ("Kick-off", START),
        ("Report", START + dt.timedelta(days=30)),
    ]
    assert project.tasks.get().name == "Workshops"
    lead = opp.lead
    lead.refresh_from_db()
    assert (lead.status, lead.customer) == (LeadStatus.CONVERTED, customer)
    assert audit_history(opp).filter(action="opportunity.win").exists()


def test_winning_for_an_existing_customer_creates_no_new_customer(template, project_manager):
    opp = OpportunityFactory()
    opportunity_win(
        opportunity=opp,
        actor=project_manager,
        template=template,
        project_code="x-1",
        start_date=START,
        manager=project_manager,
    )
    assert Customer.objects.count() == 1
    assert Project.objects.get().customer == opp.customer


def test_a_failure_in_project_creation_leaves_no_customer_behind(
    lead_opportunity, template, project_manager
):
    ProjectFactory(code="orb-disc")  # the code is taken: project creation fails
    customers_before = Customer.objects.count()
    with pytest.raises(errors.ValidationFailed) as exc:
        opportunity_win(
            opportunity=lead_opportunity,
            actor=project_manager,
            template=template,
            project_code="ORB-DISC",
            start_date=START,
            manager=project_manager,
        )
    assert "code" in exc.value.fields
    assert Customer.objects.count() == customers_before
    assert not Customer.objects.filter(name="Orbital Foods").exists()
    assert not Contact.objects.filter(email="priya@orbital.example").exists()
    lead_opportunity.refresh_from_db()
    assert lead_opportunity.stage == OpportunityStage.PROSPECTING
    assert lead_opportunity.customer is None
    lead_opportunity.lead.refresh_from_db()
    assert lead_opportunity.lead.status == LeadStatus.QUALIFIED


def test_winning_twice_is_quiet(template, project_manager):
    opp = OpportunityFactory()
    kwargs = {"actor": project_manager, "template": template}
    kwargs.update(start_date=START, manager=project_manager)
    opportunity_win(opportunity=opp, project_code="x-1", **kwargs)
    opportunity_win(opportunity=opp, project_code="x-2", **kwargs)
    assert Project.objects.count() == 1


def test_a_lost_opportunity_cannot_be_won(template, project_manager):
    opp = opportunity_lose(opportunity=OpportunityFactory(), actor=project_manager, reason="Price")
    with pytest.raises(errors.Conflict):
        opportunity_win(
            opportunity=opp,
            actor=project_manager,
            template=template,
            project_code="x-1",
            start_date=START,
            manager=project_manager,
        )


def test_the_opportunitys_own_template_is_used_when_none_is_given(template, project_manager):
    opp = OpportunityFactory(project_template=template)
    opp = opportunity_win(
        opportunity=opp,
        actor=project_manager,
        template=None,
        project_code="x-1",
        start_date=START,
        manager=project_manager,
    )
    assert opp.project.milestones.count() == 2


def test_win_needs_a_template(project_manager):
    with pytest.raises(errors.ValidationFailed) as exc:
        opportunity_win(
            opportunity=OpportunityFactory(),
            actor=project_manager,
            template=None,
            project_code="x-1",
            start_date=START,
            manager=project_manager,
        )
    assert "template" in exc.value.fields


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_only_sales_roles_win_opportunities(request, persona, template, project_manager):
    with pytest.raises(errors.PermissionDenied):
        opportunity_win(
            opportunity=OpportunityFactory(),
            actor=request.getfixturevalue(persona),
            template=template,
            project_code="x-1",
            start_date=START,
            manager=project_manager,
        )
    assert Project.objects.count() == 0


def test_update_validates_fields_and_refuses_won_stage(project_manager):
    opp = OpportunityFactory()
    with pytest.raises(errors.ValidationFailed) as exc:
        opportunity_update(opportunity=opp, actor=project_manager, probability=150)
    assert "probability" in exc.value.fields
    with pytest.raises(errors.ValidationFailed) as exc:
        opportunity_update(opportunity=opp, actor=project_manager, stage="won")
    assert "stage" in exc.value.fields
    opp = opportunity_update(opportunity=opp, actor=project_manager, stage="proposal")
    assert Opportunity.objects.get(pk=opp.pk).stage == "proposal"


def test_create_needs_a_customer_or_lead(project_manager):
    with pytest.raises(errors.ValidationFailed) as exc:
        opportunity_create(actor=project_manager, name="Nothing")
    assert "customer" in exc.value.fields


# --- pages --------------------------------------------------------------------------------


def test_mark_won_from_the_page(client, project_manager, template, lead_opportunity):
    client.force_login(project_manager)
    page = client.get(f"/crm/opportunities/{lead_opportunity.pk}/")
    assert page.status_code == 200
    assert "Mark won" in page.content.decode()
    response = client.post(
        f"/crm/opportunities/{lead_opportunity.pk}/win/",
        {
            "template": template.pk,
            "project_code": "orb-disc",
            "project_name": "Orbital discovery",
            "start_date": "2026-12-01",
            "manager": project_manager.pk,
        },
    )
    assert response.status_code == 302
    lead_opportunity.refresh_from_db()
    assert lead_opportunity.project.code == "orb-disc"


def test_mark_won_with_a_taken_code_shows_the_field_error(
    client, project_manager, template, lead_opportunity
):
    ProjectFactory(code="orb-disc")
    client.force_login(project_manager)
    response = client.post(
        f"/crm/opportunities/{lead_opportunity.pk}/win/",
        {
            "template": template.pk,
            "project_code": "orb-disc",
            "start_date": "2026-12-01",
            "manager": project_manager.pk,
        },
    )
    assert response.status_code == 400
    # The service names "code"; the page shows it at the top of the form.
    assert "Already in use." in response.content.decode()
    assert not Customer.objects.filter(name="Orbital Foods").exists()


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_opportunity_pages_are_403_for_consultants_and_outsiders(client, request, persona):
    opp = OpportunityFactory()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/crm/opportunities/").status_code == 403
    assert client.get(f"/crm/opportunities/{opp.pk}/").status_code == 403


def test_opportunity_list_and_create_pages(client, finance):
    customer = CustomerFactory(currency="EUR")
    client.force_login(finance)
    assert client.get("/crm/opportunities/new/").status_code == 200
    response = client.post(
        "/crm/opportunities/new/",
        {"customer": customer.pk, "name": "Audit", "stage": "prospecting", "value": "5000",
         "currency": "", "probability": "30"},
    )  # fmt: skip
    opp = Opportunity.objects.get(name="Audit")
    assert response["Location"] == f"/crm/opportunities/{opp.pk}/"
    assert opp.currency == "EUR"  # the customer's
    listing = client.get("/crm/opportunities/")
    assert "Audit" in listing.content.decode()
    assert "5,000.00 EUR" in listing.content.decode()


def test_open_an_opportunity_from_a_lead_page(client, project_manager):
    lead = LeadFactory(company="Helios Solar")
    client.force_login(project_manager)
    response = client.post(
        f"/crm/leads/{lead.pk}/opportunity/",
        {"name": "Helios discovery", "stage": "prospecting", "value": "48000",
         "probability": "20"},
    )  # fmt: skip
    opp = Opportunity.objects.get()
    assert response["Location"] == f"/crm/opportunities/{opp.pk}/"
    assert (opp.lead, opp.customer, opp.currency) == (
        lead,
        None,
        lead.legal_entity.functional_currency,
    )
    assert opp.value == Decimal("48000")
    bad = client.post(
        f"/crm/leads/{lead.pk}/opportunity/",
        {"name": "", "stage": "prospecting", "value": "-5", "probability": "20"},
    )
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) >= {"name"}


def test_edit_page_updates_an_open_opportunity(client, finance):
    opp = OpportunityFactory(probability=50)
    client.force_login(finance)
    assert client.get(f"/crm/opportunities/{opp.pk}/edit/").status_code == 200
    data = {"name": opp.name, "stage": "negotiation", "value": "15000", "currency": "GBP",
            "probability": "80", "expected_close": "2026-12-20"}  # fmt: skip
    response = client.post(f"/crm/opportunities/{opp.pk}/edit/", {**data, "probability": "120"})
    assert response.status_code == 400
    assert "probability" in response.context["form"].errors
    response = client.post(f"/crm/opportunities/{opp.pk}/edit/", data)
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.stage, opp.probability, opp.expected_close) == (
        "negotiation",
        80,
        dt.date(2026, 12, 20),
    )
