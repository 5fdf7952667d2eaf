"""Views of the crm app (see STYLE.md: HTML/htmx function views).

Two audiences: the public web-to-lead form (no login, embeddable by the firm's website) and
the pages of managers and finance (lead pipeline, customers, opportunities). A package by
page area; ``crm.urls`` imports from here.
"""

from crm.views.customers import (
    contact_create,
    contact_edit,
    customer_create,
    customer_detail,
    customer_edit,
    customer_list,
)
from crm.views.leads import (
    lead_convert,
    lead_detail,
    lead_disqualify,
    lead_new,
    lead_opportunity_create,
    lead_pipeline,
    lead_qualify,
)
from crm.views.opportunities import (
    opportunity_create,
    opportunity_detail,
    opportunity_edit,
    opportunity_list,
    opportunity_lose,
    opportunity_win,
)
from crm.views.public import lead_form, lead_thanks

__all__ = [
    "contact_create",
    "contact_edit",
    "customer_create",
    "customer_detail",
    "customer_edit",
    "customer_list",
    "lead_convert",
    "lead_detail",
    "lead_disqualify",
    "lead_form",
    "lead_new",
    "lead_opportunity_create",
    "lead_pipeline",
    "lead_qualify",
    "lead_thanks",
    "opportunity_create",
    "opportunity_detail",
    "opportunity_edit",
    "opportunity_list",
    "opportunity_lose",
    "opportunity_win",
]
