"""A project's (or a customer's) invoicing calendar override: the billing calendar bills that
project on its own calendar, never on its customer's or entity's."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, TaxRate
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.models import JobRun
from psa.automation.policies import automation_policy_set
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db
TUE_DEC_1 = dt.date(2026, 12, 1)
MON_DEC_7 = dt.date(2026, 12, 7)
MONTHLY = {"auto_approve": "on", "invoicing": "monthly", "invoice_day": "1", "auto_issue": "off"}


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT", rate=D("0.20"), is_default=True)
    automation_policy_set(legal_entity=uk, actor=None, values=MONTHLY)
    return uk


@pytest.fixture
def northwind(firm):
    return CustomerFactory(legal_entity=firm, name="Northwind", currency="GBP")


def worked(customer, code, *days):
    project = ProjectFactory(customer=customer, code=code)
    RateCardFactory(project=project, rate=D("100"), currency="GBP")
    for day in days:
        TimeEntryFactory(project=project, date=day, hours=D("8"), status="approved")
    return project


def bill(today):
    with job_run("billing_calendar") as run:
        cycle.billing_calendar(today=today, run=run)
    return JobRun.objects.filter(job="billing_calendar").latest("started_at")


def test_a_project_on_its_own_weekly_calendar_is_billed_on_it_not_on_the_entitys(firm, northwind):
    erp = worked(northwind, "erp", dt.date(2026, 11, 16))
    retainer = worked(northwind, "retainer", dt.date(2026, 11, 17), dt.date(2026, 12, 3))
    automation_policy_set(
        legal_entity=firm, project=retainer, actor=None,
        values={"invoicing": "weekly", "invoice_day": "0"},
    )  # fmt: skip

    bill(TUE_DEC_1)  # the entity's monthly day: every customer, but not the retainer
    assert erp.time_entries.get().billed_at is not None
    assert not retainer.time_entries.filter(billed_at__isnull=False).exists()

    bill(MON_DEC_7)  # the retainer's weekly day: through Sunday 6 Dec
    assert retainer.time_entries.filter(billed_at__isnull=False).count() == 2
    assert sorted(Invoice.objects.values_list("period_end", flat=True)) == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 6),
    ]


def test_a_project_set_to_manual_is_never_billed_by_the_calendar(firm, northwind):
    by_hand = worked(northwind, "by-hand", dt.date(2026, 11, 16))
    automation_policy_set(
        legal_entity=firm, project=by_hand, actor=None, values={"invoicing": "manual"}
    )
    bill(TUE_DEC_1)
    assert by_hand.time_entries.get().billed_at is None
    assert not Invoice.objects.exists()


def test_a_customer_calendar_and_a_project_override_within_it(firm, northwind):
    """The customer bills weekly on Mondays; one of its projects keeps the monthly day."""
    weekly = worked(northwind, "weekly", dt.date(2026, 11, 24))
    monthly = worked(northwind, "monthly", dt.date(2026, 11, 24))
    other = worked(CustomerFactory(legal_entity=firm, currency="GBP"), "other", TUE_DEC_1)
    automation_policy_set(
        legal_entity=firm, customer=northwind, actor=None,
        values={"invoicing": "weekly", "invoice_day": "0"},
    )  # fmt: skip
    automation_policy_set(
        legal_entity=firm, project=monthly, actor=None,
        values={"invoicing": "monthly", "invoice_day": "1"},
    )  # fmt: skip

    bill(TUE_DEC_1)
    assert monthly.time_entries.get().billed_at is not None
    assert weekly.time_entries.get().billed_at is None  # Northwind bills on Mondays
    assert other.time_entries.get().billed_at is None  # its time is from 1 Dec itself

    bill(MON_DEC_7)
    assert weekly.time_entries.get().billed_at is not None
    assert other.time_entries.get().billed_at is None  # the entity's day is the 1st
