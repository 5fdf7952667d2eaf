"""Every billing model through the billing run: capped T&M, fixed-price milestones, retainers
with overage, subscriptions with usage, prepaid funds, billable expenses — each billed once,
re-billable after a credit note, and booked by the posting rules."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connections, transaction

from billing.models import (
    ExpenseBilling,
    FeeKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    Recognition,
    ScheduleBilling,
    TaxRate,
)
from billing.services import billing_run_execute, billing_run_preview, invoice_issue, invoice_void
from billing.services.periods import add_months
from billing.services.recurring import (
    billing_terms_set,
    recurring_fee_create,
    revenue_recognise,
    usage_quantity_set,
)
from ledger.selectors import balances_by_role
from projects.models import MilestoneStatus
from projects.services import milestone_reach
from psa.kernel import errors
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import MilestoneFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import Expense

NOV_30 = dt.date(2026, 11, 30)
DEC_1 = dt.date(2026, 12, 1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    return uk


@pytest.fixture
def customer(firm):
    return CustomerFactory(legal_entity=firm, name="Northwind", currency="GBP")


def project(customer, model, **kw):
    p = ProjectFactory(customer=customer, billing_model=model, **kw)
    RateCardFactory(project=p, rate=D("100.00"), currency="GBP")
    return p


def week_of_time(p, *, start=dt.date(2026, 11, 16), hours=D("8"), days=5):
    for i in range(days):
        TimeEntryFactory(
            project=p, date=start + dt.timedelta(days=i), hours=hours, status="approved"
        )


def run(firm, period_end=NOV_30, today=DEC_1, issue=True):
    return billing_run_execute(
        legal_entity=firm, period_end=period_end, actor_label="test", issue=issue, today=today
    )


def ledger(firm, as_of=dt.date(2027, 12, 31)):
    balances = balances_by_role(legal_entity=firm, as_of=as_of)
    return {role: amount for role, amount in balances.items() if amount}


def lines(invoice):
    return [(ln.kind, ln.quantity, ln.unit_price, ln.net, ln.tax) for ln in invoice.lines.all()]


# --- time & materials with a cap --------------------------------------------------------------


def test_a_capped_project_writes_the_excess_down_visibly_and_reports_its_hours(firm, customer):
    erp = project(customer, "time_and_materials")
    billing_terms_set(project=erp, actor=None, cap_amount="6000")
    week_of_time(erp)  # 40 h at 100 = 4,000: under the cap
    first = run(firm, period_end=dt.date(2026, 11, 20)).invoices.get()
    assert [ln.kind for ln in first.lines.all()] == [LineKind.TIME]
    week_of_time(erp, start=dt.date(2026, 11, 23))  # another 4,000: 2,000 over the cap
    third = run(firm).invoices.get()
    time, write_down = third.lines.all()
    assert (time.kind, time.net) == (LineKind.TIME, D("4000.00"))
    assert (write_down.kind, write_down.net, write_down.tax) == (
        LineKind.WRITE_DOWN,
        D("-2000.00"),
        D("-400.00"),
    )
    assert write_down.written_down_hours == D("20.00")  # reported as unbilled-over-cap
    assert "capped at 6,000.00 GBP" in write_down.description
    assert (third.subtotal, third.total) == (D("2000.00"), D("2400.00"))
    # Books: this time was approved without the approval service, so nothing accrued it and
    # the invoices relieve no WIP (they relieve what each entry accrued); revenue is what was
    # billed, the write-down off it.
    books_now = ledger(firm)
    assert "unbilled_revenue" not in books_now
    assert books_now["revenue_services"] == D("-6000.00")
    assert books_now["accounts_receivable"] == D("7200.00")
    # Capped for good: more time is written down entirely.
    week_of_time(erp, start=dt.date(2027, 1, 4))
    fourth = run(firm, period_end=dt.date(2027, 1, 31), today=dt.date(2027, 2, 1)).invoices.get()
    assert fourth.lines.get(kind=LineKind.WRITE_DOWN).written_down_hours == D("40.00")
    assert fourth.total == D("0.00")


def test_voiding_a_capped_invoice_gives_its_room_under_the_cap_back(firm, customer):
    erp = project(customer, "time_and_materials")
    billing_terms_set(project=erp, actor=None, cap_amount="3000")
    week_of_time(erp)
    invoice = run(firm).invoices.get()
    assert invoice.subtotal == D("3000.00")
    invoice_void(invoice=invoice, actor=None, reason="Wrong customer", today=DEC_1)
    again = run(firm).invoices.get()
    assert again.subtotal == D("3000.00")  # not 0: the voided invoice no longer counts
    assert sum(ln.net for ln in again.lines.all() if ln.kind == LineKind.WRITE_DOWN) == D(
        "-1000.00"
    )


# --- fixed-price milestones -------------------------------------------------------------------


def test_reached_milestones_bill_once_and_book_fixed_fee_revenue(firm, customer):
    fixed = project(customer, "fixed_price")
    design = MilestoneFactory(project=fixed, name="Design", amount=D("5000.00"))
    MilestoneFactory(project=fixed, name="Build", amount=D("9000.00"), planned_date=NOV_30)
    milestone_reach(milestone=design, on=dt.date(2026, 11, 10))
    invoice = run(firm).invoices.get()
    assert lines(invoice) == [
        (LineKind.MILESTONE, D("1.00"), D("5000.0000"), D("5000.00"), D("1000.00"))
    ]
    design.refresh_from_db()
    assert design.status == MilestoneStatus.INVOICED
    assert run(firm).invoices.count() == 0  # billed once
    assert ledger(firm)["revenue_fixed_fee"] == D("-5000.00")
    # Voided: the milestone may be billed again.
    invoice_void(invoice=invoice, actor=None, reason="Amount disputed", today=DEC_1)
    design.refresh_from_db()
    assert design.status == MilestoneStatus.REACHED
    assert run(firm).invoices.get().total == D("6000.00")


def test_milestones_billed_on_their_planned_date_are_deferred_until_reached(firm, customer):
    fixed = project(customer, "fixed_price")
    billing_terms_set(project=fixed, actor=None, milestones_on_planned_date=True)
    build = MilestoneFactory(project=fixed, name="Build", amount=D("9000.00"), planned_date=NOV_30)
    MilestoneFactory(project=fixed, name="Go-live", amount=D("1.00"), planned_date=DEC_1)
    invoice = run(firm).invoices.get()
    assert [ln.description for ln in invoice.lines.all()] == ["Milestone: Build"]
    assert ledger(firm)["deferred_revenue"] == D("-9000.00")
    assert "revenue_fixed_fee" not in ledger(firm)
    milestone_reach(milestone=build, on=dt.date(2026, 12, 5))
    build.refresh_from_db()
    assert build.status == MilestoneStatus.INVOICED
    books_now = ledger(firm)
    assert books_now["revenue_fixed_fee"] == D("-9000.00")
    assert "deferred_revenue" not in books_now


# --- retainer with overage, and recognition ---------------------------------------------------


@pytest.fixture
def retainer(customer):
    p = project(customer, "retainer")
    recurring_fee_create(
        project=p,
        kind=FeeKind.RETAINER,
        description="Support retainer",
        unit_price="3100",
        start_date=dt.date(2026, 11, 1),
        included_hours="30",
        overage_rate="150",
        actor=None,
    )
    return p


def test_a_retainer_bills_its_fee_in_advance_and_overage_in_arrears(firm, retainer):
    week_of_time(retainer)  # 40 h in November: 10 over the 30 included
    invoice = run(firm).invoices.get()
    assert lines(invoice) == [
        (LineKind.RECURRING, D("1.00"), D("3100.0000"), D("3100.00"), D("620.00")),
        (LineKind.RECURRING, D("1.00"), D("3100.0000"), D("3100.00"), D("620.00")),
        (LineKind.OVERAGE, D("10.00"), D("150.0000"), D("1500.00"), D("300.00")),
    ]
    nov, dec, _ = invoice.lines.all()
    assert (nov.service_start, nov.service_end) == (dt.date(2026, 11, 1), NOV_30)
    assert (dec.service_start, dec.service_end) == (DEC_1, dt.date(2026, 12, 31))
    assert "40.00 h worked, 30.00 h included" in invoice.lines.last().description
    # Repeating the run bills nothing: every period and its overage are linked.
    assert run(firm).invoices.count() == 0
    assert ScheduleBilling.objects.filter(released_at__isnull=True).count() == 3
    # The fees are deferred; overage is services revenue.
    books_now = ledger(firm)
    assert books_now["deferred_revenue"] == D("-6200.00")
    assert books_now["revenue_services"] == D("-1500.00")


def test_recognition_is_daily_pro_rata_exact_and_idempotent(firm, retainer):
    run(firm)
    assert revenue_recognise(as_of=dt.date(2026, 12, 15))["processed"] == 2
    assert revenue_recognise(as_of=dt.date(2026, 12, 15))["processed"] == 0
    # November in full; December 15/31 of 3,100 = 1,500.00.
    assert ledger(firm, as_of=dt.date(2026, 12, 15))["revenue_recurring"] == D("-4600.00")
    revenue_recognise(as_of=dt.date(2026, 12, 20))
    revenue_recognise(as_of=dt.date(2027, 1, 3))  # past the end: the remainder, exactly
    books_now = ledger(firm)
    assert books_now["revenue_recurring"] == D("-6200.00")
    assert "deferred_revenue" not in books_now
    assert [r.amount for r in Recognition.objects.filter(line__service_start=DEC_1)] == [
        D("1500.00"),
        D("500.00"),
        D("1100.00"),
    ]


def test_a_credit_note_takes_recognised_revenue_back_out_of_revenue(firm, retainer):
    invoice = run(firm).invoices.get()
    revenue_recognise(as_of=dt.date(2026, 12, 15))
    invoice_void(
        invoice=invoice, actor=None, reason="Contract cancelled", today=dt.date(2026, 12, 16)
    )
    books_now = ledger(firm)
    assert "deferred_revenue" not in books_now
    assert "revenue_recurring" not in books_now
    assert "accounts_receivable" not in books_now
    assert revenue_recognise(as_of=dt.date(2026, 12, 31))["processed"] == 0  # void: stopped


# --- subscriptions with usage -----------------------------------------------------------------


def test_a_subscription_bills_each_period_at_the_quantity_set_for_it(firm, customer):
    saas = project(customer, "subscription")
    fee = recurring_fee_create(
        project=saas,
        kind=FeeKind.SUBSCRIPTION,
        description="Managed devices",
        unit_price="12.50",
        quantity="5",
        start_date=dt.date(2026, 12, 1),
        actor=None,
    )
    usage_quantity_set(fee=fee, period_start=DEC_1, quantity="12", actor=None)
    invoice = run(firm).invoices.get()
    assert lines(invoice) == [
        (LineKind.RECURRING, D("12.00"), D("12.5000"), D("150.00"), D("30.00"))
    ]
    with pytest.raises(errors.Conflict):
        usage_quantity_set(fee=fee, period_start=DEC_1, quantity="20", actor=None)
    with pytest.raises(errors.ValidationFailed) as bad:
        usage_quantity_set(fee=fee, period_start=dt.date(2027, 1, 15), quantity="3", actor=None)
    assert "period_start" in bad.value.fields
    with pytest.raises(errors.ValidationFailed) as negative:
        usage_quantity_set(fee=fee, period_start=dt.date(2027, 1, 1), quantity="-1", actor=None)
    assert "quantity" in negative.value.fields
    # January without usage set bills the default quantity.
    jan = run(firm, period_end=dt.date(2026, 12, 31), today=dt.date(2027, 1, 1)).invoices.get()
    assert lines(jan)[0][:2] == (LineKind.RECURRING, D("5.00"))


def test_periods_never_drift_across_short_months():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 2) == dt.date(2026, 3, 31)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


# --- prepaid fund -----------------------------------------------------------------------------


def test_a_prepaid_fund_is_topped_up_below_its_threshold_and_drawn_down_by_time(firm, customer):
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="1000", fund_top_up="5000")
    top_up = run(firm).invoices.get()  # empty fund: the first top-up
    assert lines(top_up) == [
        (LineKind.FUND_TOP_UP, D("1.00"), D("5000.0000"), D("5000.00"), D("0"))
    ]
    assert ledger(firm)["customer_prepayments"] == D("-5000.00")
    week_of_time(fund, hours=D("2"))  # 10 h at 100 + 20 % VAT = 1,200 drawn from the fund
    drawn = run(firm).invoices.get()
    assert [ln.kind for ln in drawn.lines.all()] == [LineKind.FUND_DRAWDOWN]
    assert (drawn.status, drawn.amount_paid, drawn.amount_due) == (
        InvoiceStatus.PAID,
        D("1200.00"),
        D("0.00"),
    )
    books_now = ledger(firm)
    assert books_now["customer_prepayments"] == D("-3800.00")
    assert books_now["accounts_receivable"] == D("5000.00")  # only the unpaid top-up
    # 30 h more (3,600 gross) would leave 200 < 1,000: the same invoice tops up.
    week_of_time(fund, start=dt.date(2026, 11, 23), hours=D("6"))
    both = run(firm).invoices.get()
    assert [ln.kind for ln in both.lines.all()] == [LineKind.FUND_DRAWDOWN, LineKind.FUND_TOP_UP]
    assert (both.status, both.amount_paid) == (InvoiceStatus.PARTIALLY_PAID, D("3600.00"))
    assert ledger(firm)["customer_prepayments"] == D("-5200.00")  # 200 left + 5,000 top-up


def test_a_fund_never_pays_more_than_it_holds(firm, customer):
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="100", fund_top_up="500")
    run(firm)  # top-up of 500 issued
    week_of_time(fund, hours=D("2"))  # 1,200 gross
    drawn = Invoice.objects.filter(lines__kind=LineKind.FUND_DRAWDOWN)
    run(firm)
    invoice = drawn.get()
    assert (invoice.amount_paid, invoice.status) == (D("500.00"), InvoiceStatus.PARTIALLY_PAID)


def test_fund_terms_need_both_figures(customer):
    fund = project(customer, "prepaid_fund")
    with pytest.raises(errors.ValidationFailed) as exc:
        billing_terms_set(project=fund, actor=None, fund_threshold="1000")
    assert "fund_top_up" in exc.value.fields


# --- billable expenses ------------------------------------------------------------------------


def expense(p, **kw):
    values = {
        "person": p.manager,
        "project": p,
        "date": dt.date(2026, 11, 18),
        "amount": D("200.00"),
        "currency": "GBP",
        "category": "travel",
        "description": "Train to Leeds",
        "status": "approved",
        "markup_percent": D("10"),
    }
    values.update(kw)
    return Expense.objects.create(**values)


def test_billable_expenses_are_billed_once_with_their_markup(firm, customer):
    erp = project(customer, "time_and_materials")
    train = expense(erp)
    expense(erp, description="Not approved", status="submitted")
    expense(erp, description="Own cost", billable=False)
    invoice = run(firm).invoices.get()
    assert lines(invoice) == [(LineKind.EXPENSE, D("1.00"), D("220.0000"), D("220.00"), D("44.00"))]
    assert "Train to Leeds" in invoice.lines.get().description
    assert "+10 %" in invoice.lines.get().description
    assert run(firm).invoices.count() == 0
    invoice_void(invoice=invoice, actor=None, reason="Re-bill", today=DEC_1)
    assert run(firm).invoices.get().lines.get().net == D("220.00")
    assert ExpenseBilling.objects.filter(expense=train, released_at__isnull=True).count() == 1


def test_a_second_active_link_is_refused_by_the_database(firm, customer):
    erp = project(customer, "time_and_materials")
    train = expense(erp)
    line = run(firm).invoices.get().lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ExpenseBilling.objects.create(expense=train, line=line)


# --- preview agrees with the run ----------------------------------------------------------------


def test_the_preview_shows_every_model_and_matches_what_the_run_writes(firm, customer, retainer):
    erp = project(customer, "time_and_materials")
    week_of_time(erp)
    expense(erp)
    fixed = project(customer, "fixed_price")
    milestone_reach(milestone=MilestoneFactory(project=fixed), on=dt.date(2026, 11, 2))
    preview = billing_run_preview(legal_entity=firm, period_end=NOV_30)
    (inv,) = preview.invoices
    kinds = sorted(ln.kind for ln in inv.lines)
    assert kinds == sorted(
        [LineKind.TIME, LineKind.EXPENSE, LineKind.MILESTONE] + [LineKind.RECURRING] * 2
    )
    assert Invoice.objects.count() == 0  # a preview writes nothing
    written = run(firm, issue=False).invoices.get()
    assert [(ln.kind, ln.net, ln.tax) for ln in written.lines.all()] == [
        (ln.kind, ln.net, ln.tax) for ln in inv.lines
    ]
    assert written.total == inv.total


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_bill_each_fee_period_and_milestone_once(firm, customer):
    p = project(customer, "retainer")
    recurring_fee_create(
        project=p,
        kind=FeeKind.RETAINER,
        description="Retainer",
        unit_price="1000",
        start_date=dt.date(2026, 1, 1),
        actor=None,
    )
    fixed = project(customer, "fixed_price")
    milestone_reach(milestone=MilestoneFactory(project=fixed), on=dt.date(2026, 11, 2))
    barrier = threading.Barrier(2)
    failures = []

    def go():
        try:
            barrier.wait()
            run(firm, issue=False)
        except Exception as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # Jan..Dec 2026 fee periods (12) and one milestone, each on one line only.
    assert ScheduleBilling.objects.count() == 12
    assert Invoice.objects.filter(kind=InvoiceKind.INVOICE).count() == 1
    assert Invoice.objects.get().lines.count() == 13


def test_issue_draft_from_run_is_gapless_for_new_kinds(firm, retainer):
    draft = run(firm, issue=False).invoices.get()
    issued = invoice_issue(invoice=draft, actor=None, today=DEC_1)
    assert issued.number == "INV-2026-00001"


def test_repeating_a_run_with_nothing_drawn_tops_up_nothing(firm, customer):
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="1000", fund_top_up="500")
    assert run(firm).invoices.get().total == D("500.00")  # first top-up: still below 1,000
    assert run(firm).invoices.count() == 0  # nothing was drawn since: no second top-up
    week_of_time(fund, hours=D("1"), days=1)  # a draw-down: the balance fell, top up again
    invoice = run(firm).invoices.get()
    assert [ln.kind for ln in invoice.lines.all()] == [LineKind.FUND_DRAWDOWN, LineKind.FUND_TOP_UP]


def test_the_invoice_page_shows_the_fund_payment_and_its_entry(client, finance, firm, customer):
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="100", fund_top_up="5000")
    run(firm)
    week_of_time(fund, hours=D("1"), days=1)
    invoice = run(firm).invoices.get()
    client.force_login(finance)
    page = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Prepaid fund" in page and "120.00" in page
    assert "fund.applied" in page  # the draw-down's journal entry, under "In the books"
