"""Services of the crm app (see STYLE.md: writes, named <entity>_<action>).

A package by area: web-to-lead form keys, leads (intake with duplicate recognition and the
pipeline), customers, contacts, and opportunities (winning one creates the customer if needed
and the project in one transaction). Import from here.
"""

from crm.services._common import (
    MAX_MESSAGE_LENGTH,
    SALES_ROLES,
    company_domain,
    email_domain,
    website_domain,
)
from crm.services.contacts import CONTACT_FIELDS, contact_create, contact_update
from crm.services.customers import CUSTOMER_FIELDS, customer_create, customer_update
from crm.services.form_keys import lead_form_key_create
from crm.services.leads import (
    LeadIntake,
    lead_convert,
    lead_create,
    lead_disqualify,
    lead_qualify,
)
from crm.services.opportunities import (
    OPPORTUNITY_FIELDS,
    opportunity_create,
    opportunity_lose,
    opportunity_planned_template,
    opportunity_update,
    opportunity_win,
)

__all__ = [
    "CONTACT_FIELDS",
    "CUSTOMER_FIELDS",
    "MAX_MESSAGE_LENGTH",
    "OPPORTUNITY_FIELDS",
    "SALES_ROLES",
    "LeadIntake",
    "company_domain",
    "contact_create",
    "contact_update",
    "customer_create",
    "customer_update",
    "email_domain",
    "lead_convert",
    "lead_create",
    "lead_disqualify",
    "lead_form_key_create",
    "lead_qualify",
    "opportunity_create",
    "opportunity_lose",
    "opportunity_planned_template",
    "opportunity_update",
    "opportunity_win",
    "website_domain",
]
