"""The billing calendar over an entity whose customers are billed in different currencies: a
Kuwaiti customer (KWD, three decimals) and a British one (GBP). Both are invoiced with exact
totals; and when one cannot be (no KWD rate), the other still is and the failure is recorded
on the job run, naming the customer and the reason."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from ledger.models import FxRate
from ledger.selectors import trial_balance
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.models import JobRun
from psa.automation.policies import automation_policy_set
from psa.kernel import errors
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db
DEC_1 = dt.date(2026, 12, 1)
ALL_ON = {
    "auto_approve": "on",
    "invoicing": "monthly",
    "invoice_day": "1",
    "auto_issue": "on",
    "auto_send": "off",
}


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT", rate=D("0.20"), is_default=True)
    automation_policy_set(legal_entity=uk, actor=None, values=ALL_ON)
    return uk


@pytest.fixture
def customers(firm):
    kuwaiti = CustomerFactory(legal_entity=firm, name="Gulf Trading", currency="KWD", country="KW")
    british = CustomerFactory(legal_entity=firm, name="Northwind", currency="GBP")
    for customer, rate, hours in ((kuwaiti, "12.345", "7.5"), (british, "100", "16")):
        project = ProjectFactory(customer=customer)
        RateCardFactory(project=project, rate=D(rate), currency=customer.currency)
        TimeEntryFactory(
            project=project, date=dt.date(2026, 11, 16), hours=D(hours), status="approved"
        )
    return kuwaiti, british


def step(job, **when):
    with job_run(job.__name__) as run:
        job(**when, run=run)
    return JobRun.objects.filter(job=job.__name__).latest("started_at")


def _balances(entity):
    rows = trial_balance(legal_entity=entity, as_of=dt.date(2030, 1, 1))
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)


def test_the_calendar_bills_a_kwd_and_a_gbp_customer_with_exact_totals(firm, customers):
    kuwaiti, british = customers
    FxRate.objects.create(currency="KWD", functional_currency="GBP", date=DEC_1, rate=D("2.5"))

    billing = step(cycle.billing_calendar, today=DEC_1)
    assert (billing.processed, billing.failed, billing.status) == (2, 0, "succeeded")
    issuing = step(cycle.issue_and_send, today=DEC_1)
    assert issuing.failed == 0

    kwd = Invoice.objects.get(customer=kuwaiti)
    # 7.5 h x 12.345 = 92.5875 -> 92.588; VAT 20 % = 18.5176 -> 18.518; total 111.106.
    assert (kwd.status, kwd.subtotal, kwd.tax_total, kwd.total) == (
        InvoiceStatus.ISSUED, D("92.588"), D("18.518"), D("111.106")
    )  # fmt: skip
    gbp = Invoice.objects.get(customer=british)
    assert (gbp.status, gbp.total) == (InvoiceStatus.ISSUED, D("1920.00"))
    _balances(firm)


def test_a_customer_without_a_rate_is_recorded_and_the_other_is_billed(firm, customers):
    kuwaiti, british = customers  # and no KWD -> GBP rate at all

    step(cycle.billing_calendar, today=DEC_1)
    issuing = step(cycle.issue_and_send, today=DEC_1)

    assert Invoice.objects.get(customer=british).status == InvoiceStatus.ISSUED
    assert Invoice.objects.get(customer=kuwaiti).status == InvoiceStatus.DRAFT  # not half issued
    assert (issuing.failed, issuing.status) == (1, "partial")
    (error,) = issuing.errors
    assert "Gulf Trading" in error["item"]
    assert "No KWD\u2192GBP rate on or before 2026-12-01" in error["error"]
    _balances(firm)


def test_a_review_limit_finer_than_the_columns_is_refused_naming_it(firm):
    with pytest.raises(errors.ValidationFailed) as caught:
        automation_policy_set(legal_entity=firm, actor=None, values={"review_above": "10.0005"})
    assert "review_above" in caught.value.fields
    automation_policy_set(legal_entity=firm, actor=None, values={"review_above": "10.005"})


def test_a_run_by_hand_issues_every_customer_it_can_and_names_the_one_it_cannot(
    firm, customers, finance
):
    """Finance runs billing for the whole entity and asks for the invoices issued: with no KWD
    rate, the British customer's invoice is issued, the Kuwaiti one stays a draft, and the run
    says which customer and why."""
    from billing.services import billing_run_execute

    kuwaiti, british = customers
    run = billing_run_execute(
        legal_entity=firm, period_end=dt.date(2026, 11, 30), actor=finance, issue=True,
        today=DEC_1,
    )  # fmt: skip
    assert run.invoices_created == 2
    assert Invoice.objects.get(customer=british).status == InvoiceStatus.ISSUED
    assert Invoice.objects.get(customer=kuwaiti).status == InvoiceStatus.DRAFT
    [failure] = run.issue_failures
    assert failure["customer"] == "Gulf Trading"
    assert "KWD" in failure["reason"]
    _balances(firm)
