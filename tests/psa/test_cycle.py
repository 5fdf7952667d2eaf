"""The zero-touch cycle's jobs, decided by the automation policies, with the clock passed in."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from billing.services import billing_run_execute, invoice_issue
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.models import JobRun
from psa.automation.policies import PolicyBook, automation_policy_set, invoicing_due
from psa.kernel import errors
from psa.kernel.models import AuditEvent
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import MilestoneFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db
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
def northwind(firm):
    return CustomerFactory(
        legal_entity=firm, name="Northwind", currency="GBP", billing_email="ap@northwind.test"
    )


@pytest.fixture
def erp(northwind):
    project = ProjectFactory(customer=northwind, code="erp")
    RateCardFactory(project=project, rate=D("100"), currency="GBP")
    for day in (16, 17):
        TimeEntryFactory(
            project=project, date=dt.date(2026, 11, day), hours=D("8"), status="approved"
        )
    return project


def step(job, **when):
    with job_run(job.__name__) as run:
        job(**when, run=run)
    return JobRun.objects.filter(job=job.__name__).latest("started_at")


# --- policies -----------------------------------------------------------------------------


def test_settings_resolve_field_by_field_project_customer_entity(firm, northwind, erp):
    assert PolicyBook().for_project(erp).auto_issue is False  # default: people decide
    assert PolicyBook().for_project(erp).auto_approve is True
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"review_above": "5000"})
    automation_policy_set(
        legal_entity=firm, customer=northwind, actor=None, values={"auto_send": "off"}
    )
    automation_policy_set(
        legal_entity=firm, project=erp, actor=None, values={"review_above": "100"}
    )
    policy = PolicyBook().for_project(erp)
    assert (policy.auto_issue, policy.auto_send, policy.review_above) == (True, False, D("100"))
    assert policy.sources == {
        **policy.sources,
        "auto_issue": "legal entity policy",
        "auto_send": "customer policy",
        "review_above": "project policy",
    }
    assert policy.why("auto_send") == "auto send is off (customer policy)"
    other = ProjectFactory(customer=northwind)
    assert PolicyBook().for_project(other).review_above == D("5000")
    assert AuditEvent.objects.filter(action="automation_policy.changed").count() == 3


def test_bad_settings_name_the_field(firm):
    with pytest.raises(errors.ValidationFailed) as exc:
        automation_policy_set(
            legal_entity=firm, actor=None, values={"invoicing": "hourly", "review_above": "-1"}
        )
    assert set(exc.value.fields) == {"invoicing", "review_above"}


def test_the_invoicing_calendar():
    book = PolicyBook()
    monthly = book.resolve(legal_entity_id=0)
    assert not invoicing_due(monthly, DEC_1)  # manual by default
    from psa.automation.policies import Effective

    assert invoicing_due(Effective({"invoicing": "monthly", "invoice_day": 1}), DEC_1)
    assert not invoicing_due(
        Effective({"invoicing": "monthly", "invoice_day": 1}), DEC_1.replace(day=2)
    )
    assert invoicing_due(Effective({"invoicing": "weekly", "invoice_day": 1}), DEC_1)  # a Tuesday


# --- jobs ---------------------------------------------------------------------------------


def test_the_billing_calendar_bills_through_yesterday_on_its_day_only(firm, northwind, erp):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"auto_issue": "off"})
    assert step(cycle.billing_calendar, today=dt.date(2026, 11, 30)).processed == 0
    assert Invoice.objects.count() == 0
    run = step(cycle.billing_calendar, today=DEC_1)
    assert (run.processed, run.status) == (1, "succeeded")
    invoice = Invoice.objects.get()
    assert (invoice.period_end, invoice.status, invoice.total) == (
        dt.date(2026, 11, 30),
        InvoiceStatus.DRAFT,
        D("1920.00"),
    )
    assert step(cycle.billing_calendar, today=DEC_1).processed == 0  # twice: nothing new


def test_a_customer_billed_at_project_end(firm, northwind, erp):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    automation_policy_set(
        legal_entity=firm, customer=northwind, actor=None, values={"invoicing": "project_end"}
    )
    assert step(cycle.billing_calendar, today=DEC_1).processed == 0  # not ended, not its day
    erp.end_date = dt.date(2026, 11, 20)
    erp.save()
    assert step(cycle.billing_calendar, today=dt.date(2026, 11, 21)).processed == 1


def test_issue_and_send_follow_the_policy_and_keep_big_drafts_for_review(
    firm, northwind, erp, mailoutbox
):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"review_above": "1000"})
    billing_run_execute(
        legal_entity=firm, period_end=dt.date(2026, 11, 30), actor_label="automation"
    )
    run = step(cycle.issue_and_send, today=DEC_1)
    draft = Invoice.objects.get()
    assert (run.processed, draft.status) == (0, InvoiceStatus.DRAFT)
    kept = AuditEvent.objects.get(action="automation.kept_for_review")
    assert "above the review limit 1000.00 (legal entity policy)" in kept.reason
    step(cycle.issue_and_send, today=DEC_1)
    assert AuditEvent.objects.filter(action="automation.kept_for_review").count() == 1
    # A project's override does not apply: the invoice is the customer's, across projects.
    automation_policy_set(
        legal_entity=firm, project=erp, actor=None, values={"review_above": "5000"}
    )
    step(cycle.issue_and_send, today=DEC_1)
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT
    automation_policy_set(
        legal_entity=firm, customer=northwind, actor=None, values={"review_above": "5000"}
    )
    step(cycle.issue_and_send, today=DEC_1)
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.issue_date) == (
        InvoiceStatus.ISSUED,
        "INV-2026-00001",
        DEC_1,
    )
    reason = AuditEvent.objects.get(action="automation.issued").reason
    assert (
        reason == "auto issue is on (legal entity policy); total within the review limit 5000.00."
    )
    assert AuditEvent.objects.filter(action="invoice.send_requested").count() == 1
    step(cycle.issue_and_send, today=DEC_1)  # twice: sent once
    assert AuditEvent.objects.filter(action="invoice.send_requested").count() == 1


def test_drafts_finance_made_by_hand_are_left_to_finance(firm, northwind, erp, finance):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    billing_run_execute(legal_entity=firm, period_end=dt.date(2026, 11, 30), actor=finance)
    step(cycle.issue_and_send, today=DEC_1)
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT


def test_a_customer_without_an_address_is_reported_not_skipped_silently(firm, northwind, erp):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    northwind.billing_email = ""
    northwind.save()
    invoice = billing_run_execute(
        legal_entity=firm, period_end=dt.date(2026, 11, 30)
    ).invoices.get()
    invoice_issue(invoice=invoice, today=DEC_1)
    run = step(cycle.issue_and_send, today=DEC_1)
    assert (run.failed, run.status) == (1, "partial")
    assert "no billing e-mail" in run.errors[0]["error"]
    assert AuditEvent.objects.filter(action="automation.send_blocked").count() == 1


def test_milestones_are_released_on_their_planned_date_when_the_policy_says_so(firm, northwind):
    fixed = ProjectFactory(customer=northwind, billing_model="fixed_price")
    due = MilestoneFactory(project=fixed, planned_date=dt.date(2026, 11, 30))
    later = MilestoneFactory(project=fixed, planned_date=dt.date(2026, 12, 15))
    assert step(cycle.release_milestones, today=DEC_1).processed == 0  # policy off
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    assert step(cycle.release_milestones, today=DEC_1).processed == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.reached_on, later.status) == ("reached", due.planned_date, "planned")
    assert AuditEvent.objects.get(action="automation.milestone_released").reason == (
        "release milestones is on (legal entity policy)"
    )


def test_auto_approve_respects_the_automation_switch(firm, northwind, consultant):
    from tests.timesheets.factories import ApprovalPolicyFactory

    project = ProjectFactory(customer=northwind, allow_all_users=True)
    ApprovalPolicyFactory(project=project)
    entry = TimeEntryFactory(
        person=consultant, project=project, date=dt.date(2026, 11, 16), status="submitted"
    )
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON | {"auto_approve": "off"})
    from django.utils import timezone

    step(cycle.auto_approve, now=timezone.now())
    entry.refresh_from_db()
    assert entry.status == "submitted"
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    step(cycle.auto_approve, now=timezone.now())
    entry.refresh_from_db()
    assert entry.status == "approved"


def test_finance_edits_the_policies_on_a_page(client, finance, consultant, firm, northwind):
    client.force_login(consultant)
    assert client.get("/operations/automation/").status_code == 403
    client.force_login(finance)
    page = client.get("/operations/automation/").content.decode()
    assert "Acme UK" in page and "No policy saved yet" in page
    client.post("/operations/automation/", {"entity": "uk", **ALL_ON, "review_above": "2500"})
    policy = PolicyBook().for_customer(northwind)
    assert (policy.auto_issue, policy.review_above) == (True, D("2500"))
    bad = client.post("/operations/automation/", {"entity": "uk", **ALL_ON, "invoice_day": "31"})
    assert bad.status_code == 400 and "From 1 to 28." in bad.content.decode()
    client.post(
        "/operations/automation/",
        {"entity": "uk", "customer": northwind.pk, "auto_send": "off", "auto_issue": ""},
    )
    policy = PolicyBook().for_customer(northwind)
    assert (policy.auto_issue, policy.auto_send) == (True, False)
    page = client.get("/operations/automation/").content.decode()
    assert "Customer Northwind" in page and "autosend: off" in page
    from psa.automation.models import AutomationPolicy

    override = AutomationPolicy.objects.get(customer=northwind)
    client.post("/operations/automation/", {"entity": "uk", "remove": override.pk})
    assert PolicyBook().for_customer(northwind).auto_send is True


def test_the_operations_page_shows_drafts_and_what_awaits_posting(client, finance, firm, erp):
    billing_run_execute(legal_entity=firm, period_end=dt.date(2026, 11, 30))
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "Drafts awaiting review" in page and "Northwind" in page and "1,920.00" in page


@pytest.fixture
def clean_clock():
    from psa.kernel import clock

    clock.reset()
    yield clock
    clock.reset()


def test_the_demo_clock_advances_and_runs_the_day(clean_clock, firm, northwind, erp):
    from django.core.management import call_command

    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    before = clean_clock.today()
    call_command("clock_advance", days=2)
    assert clean_clock.today() == before + dt.timedelta(days=2)
    assert set(JobRun.objects.values_list("job", flat=True)) == set(cycle.DAILY)


def test_the_clock_never_moves_in_production(clean_clock, settings):
    settings.CLOCK_CONTROL = False
    with pytest.raises(RuntimeError):
        clean_clock.advance(days=1)
    assert clean_clock.offset() == dt.timedelta(0)


def test_finance_advances_the_demo_clock_from_operations(client, finance, clean_clock):
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "Advance a day" in page
    before = clean_clock.today()
    client.post("/operations/clock/")
    assert clean_clock.today() == before + dt.timedelta(days=1)


def test_one_run_bills_an_entity_whose_customers_are_all_due(firm, northwind, erp):
    from billing.models import BillingRun

    halcyon = CustomerFactory(legal_entity=firm, name="Halcyon", currency="GBP")
    portal = ProjectFactory(customer=halcyon)
    RateCardFactory(project=portal, rate=D("90"), currency="GBP")
    TimeEntryFactory(project=portal, date=dt.date(2026, 11, 18), hours=D("2"), status="approved")
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    assert step(cycle.billing_calendar, today=DEC_1).processed == 2
    (entity_wide,) = BillingRun.objects.all()
    assert (entity_wide.customer, entity_wide.invoices_created) == (None, 2)
    # A customer on another calendar: the others are billed customer by customer.
    automation_policy_set(
        legal_entity=firm, customer=halcyon, actor=None, values={"invoicing": "manual"}
    )
    TimeEntryFactory(project=erp, date=dt.date(2026, 11, 30), hours=D("1"), status="approved")
    TimeEntryFactory(project=portal, date=dt.date(2026, 11, 30), hours=D("1"), status="approved")
    step(cycle.billing_calendar, today=DEC_1)
    latest = BillingRun.objects.latest("started_at")
    assert (latest.customer, latest.invoices_created) == (northwind, 1)
    assert Invoice.objects.filter(customer=halcyon).count() == 1  # not billed again


def test_a_customer_whose_billing_fails_never_keeps_the_others_from_being_billed(
    firm, northwind, erp, monkeypatch
):
    """The entity-wide run is one transaction: when one customer's billing fails inside it,
    the calendar bills customer by customer and records the one that failed, with its reason."""
    from django.db import IntegrityError

    halcyon = CustomerFactory(legal_entity=firm, name="Halcyon", currency="GBP")
    portal = ProjectFactory(customer=halcyon)
    RateCardFactory(project=portal, rate=D("90"), currency="GBP")
    TimeEntryFactory(project=portal, date=dt.date(2026, 11, 18), hours=D("2"), status="approved")
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)

    def failing_for_halcyon(**kwargs):
        if kwargs.get("customer") in (None, halcyon):  # Halcyon is in every entity-wide run
            raise IntegrityError('new row violates check constraint "invoice_total_is_sum"')
        return billing_run_execute(**kwargs)

    monkeypatch.setattr(cycle, "billing_run_execute", failing_for_halcyon)
    run = step(cycle.billing_calendar, today=DEC_1)
    assert (run.processed, run.failed, run.status) == (1, 1, "partial")
    assert "Halcyon" in run.errors[0]["item"]
    assert "invoice_total_is_sum" in run.errors[0]["error"]
    assert Invoice.objects.filter(customer=northwind).count() == 1
    assert not Invoice.objects.filter(customer=halcyon).exists()
