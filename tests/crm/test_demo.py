"""The demo firm's CRM: a form key, leads in every status, an opportunity ready to win."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.models import Lead, LeadFormKey, LeadStatus, Opportunity, OpportunityStage
from crm.services import opportunity_win
from projects.models import ProjectTemplate
from psa.automation.demo.firm import seed
from psa.kernel.models import User
from tests.projects.factories import ProjectTemplateFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def test_demo_crm_has_every_lead_status_and_a_winnable_opportunity():
    seed(today=TODAY)
    assert set(Lead.objects.values_list("status", flat=True)) == set(LeadStatus.values)
    key = LeadFormKey.objects.get(is_default=True)
    assert key.is_active and key.owner.email == "maria@demo.psa.test"
    # The Northwind colleague was recognised by domain, not made a twin.
    assert Lead.objects.get(email="lena.park@northwind.example").customer.name == (
        "Northwind Traders"
    )
    opp = Opportunity.objects.get(name="Helios Solar data platform discovery")
    assert opp.stage == OpportunityStage.NEGOTIATION and opp.customer is None

    maria = User.objects.get(email="maria@demo.psa.test")
    template = ProjectTemplate.objects.filter(active=True).first() or ProjectTemplateFactory()
    opp = opportunity_win(
        opportunity=opp,
        actor=maria,
        template=template,
        project_code="helios-disc",
        start_date=TODAY,
        manager=maria,
    )
    assert opp.customer.name == "Helios Solar"
    assert opp.project.customer == opp.customer


def test_seeding_the_crm_twice_creates_nothing_new():
    seed(today=TODAY)
    counts = [m.objects.count() for m in (Lead, LeadFormKey, Opportunity)]
    report = seed(today=TODAY)
    assert report.created == {}
    assert [m.objects.count() for m in (Lead, LeadFormKey, Opportunity)] == counts
