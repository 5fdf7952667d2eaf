"""REST API of the crm app: leads in and out (managers, finance and admins; CRM sync).

One view per operation; each delegates to crm.services / crm.selectors, the same code the
pages use, so the duplicate rules and the owner's notification are identical. A package by
resource; ``psa.urls`` includes ``crm.api`` for the ``urlpatterns`` below.
"""

from django.urls import path

from crm.api.customers import (
    ContactDetail,
    ContactListCreate,
    CustomerDetail,
    CustomerListCreate,
)
from crm.api.leads import (
    LeadConvert,
    LeadDetail,
    LeadDisqualify,
    LeadListCreate,
    LeadQualify,
)
from crm.api.opportunities import (
    OPEN_STAGES,
    OpportunityDetail,
    OpportunityListCreate,
    OpportunityLose,
    OpportunityWin,
)

__all__ = ["OPEN_STAGES", "urlpatterns"]

urlpatterns = [
    path("leads/", LeadListCreate.as_view(), name="leads"),
    path("leads/<int:pk>/", LeadDetail.as_view(), name="lead"),
    path("leads/<int:pk>/qualify/", LeadQualify.as_view(), name="lead-qualify"),
    path("leads/<int:pk>/convert/", LeadConvert.as_view(), name="lead-convert"),
    path("leads/<int:pk>/disqualify/", LeadDisqualify.as_view(), name="lead-disqualify"),
    path("customers/", CustomerListCreate.as_view(), name="customers"),
    path("customers/<int:pk>/", CustomerDetail.as_view(), name="customer"),
    path("contacts/", ContactListCreate.as_view(), name="contacts"),
    path("contacts/<int:pk>/", ContactDetail.as_view(), name="contact"),
    path("opportunities/", OpportunityListCreate.as_view(), name="opportunities"),
    path("opportunities/<int:pk>/", OpportunityDetail.as_view(), name="opportunity"),
    path("opportunities/<int:pk>/win/", OpportunityWin.as_view(), name="opportunity-win"),
    path("opportunities/<int:pk>/lose/", OpportunityLose.as_view(), name="opportunity-lose"),
]
