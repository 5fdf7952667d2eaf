"""Currencies of three decimals (KWD) and none (JPY) as worked examples: the rate is stored as
typed, the line, its tax and the totals are rounded half up to the currency's minor unit at
the documented points (billing.services.pricing), the invoice issues with total = sum, and the
books balance per entity."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from billing.services import billing_run_execute
from billing.services.recurring import billing_terms_set
from ledger.models import FxRate, JournalLine
from ledger.selectors import balances_by_role, trial_balance
from projects.models import RateCard
from projects.services import rate_card_change
from psa.kernel import errors
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.services.approvals import week_approve
from timesheets.services.weeks import week_submit

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)
LATER = dt.date(2030, 1, 1)


def _balanced(entity):
    rows = trial_balance(legal_entity=entity, as_of=LATER)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return {k: v for k, v in balances_by_role(legal_entity=entity, as_of=LATER).items() if v}


def _bill_week(entity, currency, rate, hours, consultant, project_manager, tax="0.05"):
    TaxRate.objects.create(legal_entity=entity, name="VAT", rate=D(tax), is_default=True)
    customer = CustomerFactory(legal_entity=entity, currency=currency, country="KW")
    project = ProjectFactory(customer=customer, manager=project_manager)
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D(rate), currency=currency)
    TimeEntryFactory(person=consultant, project=project, date=MONDAY, hours=D(hours))
    week_submit(actor=consultant, person=consultant, week_start=MONDAY)
    week_approve(actor=project_manager, person=consultant, week_start=MONDAY)
    billing_run_execute(
        legal_entity=entity, period_end=MONDAY + dt.timedelta(days=6), actor_label="t", issue=True
    )
    return Invoice.objects.get(customer=customer, kind="invoice")


def test_a_kwd_rate_of_12_345_is_stored_exactly():
    card = RateCardFactory(rate=D("12.345"), currency="KWD")
    card.refresh_from_db()
    assert card.rate == D("12.345")  # was 12.35: two decimals in the column
    assert RateCard.objects.filter(rate=D("12.345")).exists()


def test_7_5_hours_at_12_345_kwd_issue_with_exact_totals_and_balanced_books(
    consultant, project_manager
):
    kuwait = books(code="kw", name="Acme Kuwait", country="KW", functional_currency="KWD")
    invoice = _bill_week(kuwait, "KWD", "12.345", "7.5", consultant, project_manager)

    # 7.5 x 12.345 = 92.5875 → 92.588; 5 % of it = 4.6294 → 4.629; total 97.217.
    (line,) = invoice.lines.all()
    assert (line.net, line.tax) == (D("92.588"), D("4.629"))
    assert invoice.status == InvoiceStatus.ISSUED
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        D("92.588"),
        D("4.629"),
        D("97.217"),
    )
    assert invoice.total == invoice.subtotal + invoice.tax_total
    # Approval accrued 92.588 of WIP; the invoice moved it to receivables: nothing left over.
    assert _balanced(kuwait) == {
        "accounts_receivable": D("97.217"),
        "tax_payable": D("-4.629"),
        "revenue_services": D("-92.588"),
    }
    assert JournalLine.objects.filter(debit=D("97.217")).exists()


def test_a_kwd_invoice_of_a_gbp_entity_is_exact_in_kwd_and_in_pounds(consultant, project_manager):
    uk = books(code="uk", name="Acme UK", country="GB", functional_currency="GBP")
    FxRate.objects.create(
        currency="KWD", functional_currency="GBP", date=MONDAY, rate=D("2.5")
    )  # fmt: skip
    invoice = _bill_week(uk, "KWD", "12.345", "7.5", consultant, project_manager)
    assert invoice.total == D("97.217")
    receivable = JournalLine.objects.get(
        entry__source_type="invoice", entry__source_id=str(invoice.pk), debit__gt=0
    )
    assert (receivable.currency, receivable.amount_currency) == ("KWD", D("97.217"))
    assert receivable.debit == D("243.04")  # 97.217 x 2.5 = 243.0425 → pence
    assert _balanced(uk)["accounts_receivable"] == D("243.04")


def test_jpy_stays_integral(consultant, project_manager):
    japan = books(code="jp", name="Acme Japan", country="JP", functional_currency="JPY")
    invoice = _bill_week(japan, "JPY", "15000", "7.5", consultant, project_manager, tax="0.10")
    (line,) = invoice.lines.all()
    assert (line.net, line.tax, invoice.total) == (D("112500"), D("11250"), D("123750"))
    for amount in (line.net, line.tax, invoice.total):
        assert amount == amount.to_integral_value()
    assert _balanced(japan)["accounts_receivable"] == D("123750")
    # A JPY rate with sen is refused, naming the field (it was stored as 12.50 before).
    with pytest.raises(errors.ValidationFailed) as caught:
        rate_card_change(
            project=invoice.project or line.project, rate="12.5",
            effective_from=dt.date(2026, 12, 1), actor=project_manager,
        )  # fmt: skip
    assert "rate" in caught.value.fields


def test_a_cap_finer_than_the_projects_currency_is_refused_naming_it(project_manager):
    japan = books(code="jp", name="Acme Japan", country="JP", functional_currency="JPY")
    project = ProjectFactory(customer=CustomerFactory(legal_entity=japan, currency="JPY"))
    with pytest.raises(errors.ValidationFailed) as caught:
        billing_terms_set(project=project, actor=project_manager, cap_amount="1000.5")
    assert "cap_amount" in caught.value.fields
    kwd = ProjectFactory(customer=CustomerFactory(legal_entity=japan, currency="KWD"))
    terms = billing_terms_set(project=kwd, actor=project_manager, cap_amount="1000.125")
    terms.refresh_from_db()
    assert terms.cap_amount == D("1000.125")
