"""The demo's sales pipeline: a web form key, leads in every status, opportunities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crm.models import Contact, Lead, LeadFormKey, LeadSource, Opportunity
from crm.services import company_domain
from projects.models import OpportunityPlan, ProjectTemplate
from psa.automation.demo.data import DEMO_LEADS
from psa.automation.demo.report import SeedReport


def seed_crm(report: SeedReport, today: dt.date, users, entities, customers) -> None:
    """A web form key, leads in every status and an opportunity ready to win."""

    entity = entities["acme-uk"]
    _, created = LeadFormKey.objects.get_or_create(
        legal_entity=entity,
        name="acme-consulting.example contact form",
        defaults={
            "owner": users["maria"],
            # Fixed so the demo's embed snippet keeps working across re-seeds; real keys
            # come from crm.services.lead_form_key_create (secrets.token_urlsafe).
            "key": "demo-acme-uk-web-form-key-0123456789abcdef",
            "allowed_origins": ["https://www.acme-consulting.example"],
            "is_default": not LeadFormKey.objects.filter(is_default=True).exists(),
        },
    )
    report.bump("lead form keys", int(created))

    known = {"northwind.example": "Northwind Traders", "halcyon.example": "Halcyon Health"}
    leads = {}
    for email, name, company, phone, website, status, message, reason in DEMO_LEADS:
        domain = company_domain(email=email, website=website)
        customer = customers.get(known.get(domain, ""))
        lead, created = Lead.objects.get_or_create(
            legal_entity=entity,
            email=email,
            defaults={
                "name": name,
                "company": company,
                "phone": phone,
                "website": website,
                "domain": domain,
                "message": message,
                "source": LeadSource.WEB_FORM,
                "status": status,
                "disqualify_reason": reason,
                "owner": users["maria"],
                "customer": customer,
            },
        )
        if created and status == "converted" and customer is not None:
            lead.contact, _ = Contact.objects.get_or_create(
                customer=customer, email=email, defaults={"name": name, "title": "CTO"}
            )
            lead.save(update_fields=["contact"])
        leads[email] = lead
        report.bump("leads", int(created))

    template = ProjectTemplate.objects.filter(active=True).order_by("pk").first()
    helios = leads["marco@heliossolar.example"]
    for name, lead, customer, stage, value, probability, days in [
        ("Helios Solar data platform discovery", helios, None, "negotiation", "48000", 70, 14),
        ("Northwind forecasting phase 2", leads["lena.park@northwind.example"],
         customers["Northwind Traders"], "proposal", "25000", 40, 45),
    ]:  # fmt: skip
        opp, created = Opportunity.objects.get_or_create(
            legal_entity=entity,
            name=name,
            defaults={
                "lead": lead,
                "customer": customer,
                "stage": stage,
                "value": Decimal(value),
                "currency": entity.functional_currency,
                "probability": probability,
                "expected_close": today + dt.timedelta(days=days),
                "owner": users["maria"],
            },
        )
        if created and template is not None:
            OpportunityPlan.objects.get_or_create(opportunity=opp, defaults={"template": template})
        report.bump("opportunities", int(created))
