"""A small firm with a few of everything, so every list endpoint has rows to page through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

from django.utils import timezone

from billing.models import TaxRate
from billing.services import billing_run_execute
from crm.models import LeadSource
from psa.automation.models import JobRun
from psa.kernel.webhooks import webhook_subscribe
from tests.crm.factories import ContactFactory, CustomerFactory, LeadFactory, OpportunityFactory
from tests.ledger.factories import books
from tests.projects.factories import (
    AssignmentFactory,
    MilestoneFactory,
    ProjectFactory,
    ProjectTemplateFactory,
    RateCardFactory,
    TaskFactory,
)
from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.models import Expense

PERIOD_END = dt.date(2026, 11, 30)
N = 3  # rows of each kind: page size 1 against a full page of 3


def build(*, finance: Any, project_manager: Any, consultant: Any) -> dict[str, Any]:
    from projects.models import ServiceItem

    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    template = ProjectTemplateFactory(code="std")
    out: dict[str, Any] = {"entity": uk, "template": template, "customers": [], "projects": []}
    for n in range(N):
        ServiceItem.objects.create(code=f"svc-{n}", name=f"Service {n}")
        customer = CustomerFactory(legal_entity=uk, name=f"Customer {n}", account_manager=finance)
        ContactFactory(customer=customer)
        OpportunityFactory(customer=customer, legal_entity=uk, owner=finance,
                           project_template=template)  # fmt: skip
        LeadFactory(legal_entity=uk, owner=finance, source=LeadSource.API)
        project = ProjectFactory(customer=customer, code=f"p{n}", manager=project_manager)
        AssignmentFactory(project=project, person=consultant)
        AssignmentFactory(project=project, person=project_manager, role="Lead")
        TaskFactory(project=project)
        TaskFactory(project=project)
        RateCardFactory(project=project, rate=D("100.00"))
        RateCardFactory(project=project, rate=D("150.00"), level="role_on_project", role="Lead")
        MilestoneFactory(project=project)
        ApprovalPolicyFactory(project=project)
        for day in (16, 17):
            TimeEntryFactory(project=project, person=consultant, date=dt.date(2026, 11, day),
                             status="approved")  # fmt: skip
        Expense.objects.create(person=consultant, project=project, date=dt.date(2026, 11, 16),
                               amount=D("12.50"), currency="GBP", category="travel")  # fmt: skip
        webhook_subscribe(owner=finance, url=f"https://hooks{n}.test/h", events=["journal.posted"])
        JobRun.objects.create(job=f"job-{n}", started_at=timezone.now())
        out["customers"].append(customer)
        out["projects"].append(project)
        # One run per customer, so there are N runs and N issued invoices.
        billing_run_execute(legal_entity=uk, period_end=PERIOD_END, customer=customer,
                            actor=finance, issue=True, today=dt.date(2026, 12, 1))  # fmt: skip
    return out
