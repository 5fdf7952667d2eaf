"""Every skip has a reason: what the jobs leave for a person is recorded with why, and the
operations page lists what waits — with the reason, its age, a link and a one-click action."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus, PaymentMethod, TaxRate
from billing.services import billing_run_execute, invoice_issue
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.models import JobRun
from psa.automation.policies import automation_policy_set
from psa.automation.sweeps import collect_due
from tests.billing.payment_fixtures import make_invoice
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db
MON = dt.date(2026, 11, 16)
DEC_1 = dt.date(2026, 12, 1)
ALL_ON = {
    "auto_approve": "on",
    "release_milestones": "on",
    "invoicing": "monthly",
    "invoice_day": "1",
    "auto_issue": "on",
    "auto_send": "on",
    "autopay": "on",
    "dunning": "on",
}


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT", rate=D("0.20"), is_default=True)
    return uk


@pytest.fixture
def erp(firm, project_manager, consultant):
    northwind = CustomerFactory(
        legal_entity=firm, name="Northwind", currency="GBP", billing_email="ap@northwind.test"
    )
    project = ProjectFactory(customer=northwind, code="erp", manager=project_manager)
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D("100"), currency="GBP")
    # Months ago: the consultant's first weeks are past.
    TimeEntryFactory(person=consultant, project=project, date=dt.date(2026, 6, 1), hours=D("8"),
                     status="approved", billable=False)  # fmt: skip
    return project


def step(job, **when):
    with job_run(job.__name__) as run:
        job(**when, run=run)
    return JobRun.objects.filter(job=job.__name__).latest("started_at")


def overtime_week(consultant, project):
    for day in range(5):
        TimeEntryFactory(
            person=consultant, project=project, date=MON + dt.timedelta(days=day),
            hours=D("8.5"), note="Build", status="submitted",
        )  # fmt: skip


def test_auto_approve_records_the_rule_and_figures_for_a_week_it_leaves(firm, erp, consultant):
    overtime_week(consultant, erp)
    run = step(cycle.auto_approve, now=timezone.now())
    assert (run.processed, run.skipped) == (0, 1)
    (wait,) = run.waits
    assert wait["item"] == f"{consultant}'s week of 16 Nov 2026 on ERP"
    assert wait["reason"] == "42.5 h in the week > capacity 40 h"


def test_a_week_within_the_rules_is_approved_by_the_job_without_any_policy_row(
    firm, erp, consultant
):
    for day in range(5):
        TimeEntryFactory(person=consultant, project=erp, date=MON + dt.timedelta(days=day),
                         hours=D("8"), note="Build", status="submitted")  # fmt: skip
    run = step(cycle.auto_approve, now=timezone.now())
    assert (run.processed, run.skipped, run.waits) == (5, 0, [])


def test_the_operations_page_lists_the_waiting_week_with_its_reason_and_approves_it(
    client, finance, firm, erp, consultant
):
    overtime_week(consultant, erp)
    step(cycle.auto_approve, now=timezone.now())
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "What waits for a person" in page
    assert "No submitted week waits for approval." not in page
    assert "Left for the project manager: 42.5 h in the week &gt; capacity 40 h." in page
    assert "Submitted time awaiting approval" in page and "42.5 h" in page
    assert f'name="week" value="{consultant.pk}:2026-11-16"' in page
    assert "Approve week" in page

    client.post(reverse("timesheets:approve"), {"week": f"{consultant.pk}:2026-11-16"})
    assert set(TimeEntry.objects.filter(date__gte=MON).values_list("status", flat=True)) == {
        "approved"
    }
    page = client.get("/operations/").content.decode()
    assert "No submitted week waits for approval." in page


def test_a_week_the_job_has_not_seen_yet_says_so(client, finance, firm, erp, consultant):
    overtime_week(consultant, erp)
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "Not checked yet: the next auto-approve run decides." in page


def test_auto_approval_switched_off_is_the_recorded_reason(firm, erp, consultant):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"auto_approve": "off"})
    TimeEntryFactory(person=consultant, project=erp, date=MON, status="submitted")
    run = step(cycle.auto_approve, now=timezone.now())
    assert run.waits[0]["reason"] == "auto-approval is off in the automation policy"


def test_a_draft_above_the_review_limit_waits_with_the_figures_and_can_be_issued(
    client, finance, firm, erp
):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"review_above": "1000"})
    TimeEntryFactory(project=erp, date=MON, hours=D("16"), status="approved")
    billing_run_execute(legal_entity=firm, period_end=dt.date(2026, 11, 30), actor_label="x")
    run = step(cycle.issue_and_send, today=DEC_1)
    (wait,) = run.waits
    assert wait["item"].startswith("draft invoice") and "Northwind" in wait["item"]
    assert "total 1920.00 GBP is above the review limit 1000.00" in wait["reason"]

    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "is above the review limit 1000.00 (legal entity policy)" in page
    draft = Invoice.objects.get()
    assert f'action="/billing/invoices/{draft.pk}/issue/"' in page


def test_invoices_not_sent_wait_with_why_and_a_send_button(client, finance, firm, erp):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"auto_send": "off"})
    TimeEntryFactory(project=erp, date=MON, hours=D("8"), status="approved")
    invoice = billing_run_execute(
        legal_entity=firm, period_end=dt.date(2026, 11, 30)
    ).invoices.get()
    invoice = invoice_issue(invoice=invoice, today=DEC_1)
    run = step(cycle.issue_and_send, today=DEC_1)
    assert run.waits == [
        {
            "item": f"invoice {invoice.number} to Northwind",
            "reason": "Sent by a person: auto send is off (legal entity policy).",
        }
    ]
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "Invoices not sent" in page and invoice.number in page
    assert "Sent by a person: auto send is off (legal entity policy)." in page
    assert f'action="/billing/invoices/{invoice.pk}/send/"' in page
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED


def test_a_run_shows_what_it_left_for_a_person(client, finance, firm, erp, consultant):
    overtime_week(consultant, erp)
    step(cycle.auto_approve, now=timezone.now())
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "1 left for a person, with why" in page


def test_collect_with_autopay_off_records_that_a_person_collects(firm, erp):
    customer = erp.customer
    PaymentMethod.objects.create(
        customer=customer, stripe_payment_method_id="pm_card_visa", brand="visa", last4="4242",
        autopay_consent_at=timezone.now(), consent_text="Charge this card.",
    )  # fmt: skip
    invoice = make_invoice(customer, today=DEC_1)
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"autopay": "off"})

    counts = collect_due(today=invoice.due_date)

    assert (counts["processed"], counts["skipped"]) == (0, 1)
    run = JobRun.objects.get(job="collect-due")
    assert run.waits == [
        {
            "item": f"invoice {invoice.number} of Northwind",
            "reason": "Collected by a person: autopay is off (legal entity policy).",
        }
    ]


def test_the_jobs_api_gives_what_a_run_left_for_a_person(client, finance, firm, erp, consultant):
    overtime_week(consultant, erp)
    step(cycle.auto_approve, now=timezone.now())
    client.force_login(finance)
    runs = client.get("/api/v1/jobs/?job=auto_approve").json()["results"]
    assert runs[0]["waits"][0]["reason"] == "42.5 h in the week > capacity 40 h"
