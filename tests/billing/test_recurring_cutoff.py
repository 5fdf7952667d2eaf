"""Recurring fees: the period anchor (calendar or anniversary), revenue in the period it is
earned, and retainer overage accrued at period end and relieved exactly when billed; late
approved overage billed by the next run (issue #13 items 4 and 11)."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest

from billing.models import (
    FeeKind,
    LineKind,
    OverageAccrual,
    PeriodAnchor,
    Recognition,
    RecurringFee,
)
from billing.services import billing_run_execute, invoice_void
from billing.services.overage import retainer_overage_accrue
from billing.services.periods import fee_periods
from billing.services.recurring import recurring_fee_create, revenue_recognise
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.celery import CYCLE
from tests.billing.test_billing_models import customer, firm, ledger, project  # noqa: F401
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db

DEC_11 = dt.date(2026, 12, 11)
DEC_31 = dt.date(2026, 12, 31)
JAN_1 = dt.date(2027, 1, 1)


def fee_of(customer, *, anchor=None, start=DEC_11, months=1, **kw):  # noqa: F811
    extra = {"period_anchor": anchor} if anchor else {}
    return recurring_fee_create(
        project=project(customer, "retainer"), kind=FeeKind.RETAINER, description="Support",
        unit_price="3100", start_date=start, period_months=months, actor=None, **extra, **kw,
    )  # fmt: skip


def bill(firm, period_end, today):  # noqa: F811
    return billing_run_execute(
        legal_entity=firm, period_end=period_end, actor_label="test", issue=True, today=today
    )


# --- the period anchor ---------------------------------------------------------------------


def test_a_calendar_fee_starting_the_11th_runs_by_calendar_month_with_a_prorated_first(
    firm,  # noqa: F811
    customer,  # noqa: F811
):
    fee = fee_of(customer)
    assert fee.period_anchor == PeriodAnchor.CALENDAR_MONTH  # new fees default to calendar
    assert fee_periods(fee, starting_through=dt.date(2027, 2, 1)) == [
        (DEC_11, DEC_31),
        (JAN_1, dt.date(2027, 1, 31)),
        (dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
    ]
    invoice = bill(firm, DEC_31, JAN_1).invoices.get()
    dec, jan = invoice.lines.all()
    # 11-31 December: 21 of 31 days of 3,100.
    assert (dec.service_start, dec.service_end, dec.net) == (DEC_11, DEC_31, D("2100.00"))
    assert "(21/31 days)" in dec.description
    assert (jan.service_start, jan.net) == (JAN_1, D("3100.00"))


def test_calendar_quarters_and_an_end_date_prorate_both_partial_periods(customer):  # noqa: F811
    fee = fee_of(customer, start=dt.date(2027, 2, 10), months=3, end_date=dt.date(2027, 8, 15))
    assert fee_periods(fee, starting_through=dt.date(2028, 1, 1)) == [
        (dt.date(2027, 2, 10), dt.date(2027, 3, 31)),
        (dt.date(2027, 4, 1), dt.date(2027, 6, 30)),
        (dt.date(2027, 7, 1), dt.date(2027, 8, 15)),
    ]


def test_an_anniversary_fee_keeps_its_periods_from_the_start_date(firm, customer):  # noqa: F811
    fee = fee_of(customer, anchor=PeriodAnchor.ANNIVERSARY)
    assert fee_periods(fee, starting_through=dt.date(2027, 1, 11)) == [
        (DEC_11, dt.date(2027, 1, 10)),
        (dt.date(2027, 1, 11), dt.date(2027, 2, 10)),
    ]
    (line,) = bill(firm, DEC_31, JAN_1).invoices.get().lines.all()
    assert line.net == D("3100.00")  # a whole fee, no proration


# --- revenue in the period delivered -------------------------------------------------------


def test_decembers_share_is_dated_in_december_and_a_gap_catches_up_month_by_month(
    firm,  # noqa: F811
    customer,  # noqa: F811
):
    fee_of(customer)
    bill(firm, DEC_31, JAN_1)  # December's partial period and January, invoiced on 1 January
    revenue_recognise(as_of=JAN_1)
    december = ledger(firm, as_of=DEC_31)
    assert december["revenue_recurring"] == D("-2100.00")
    # Earned, not yet invoiced on 31 December: unbilled revenue, not negative deferred revenue.
    assert (december["unbilled_revenue"], december.get("deferred_revenue")) == (D("2100.00"), None)
    january = ledger(firm, as_of=JAN_1)
    assert "unbilled_revenue" not in january  # the invoice of 1 January moved it to deferred
    assert january["deferred_revenue"] == D("-3000.00")  # 5,200 billed less 2,100 and 1/31
    assert Recognition.objects.get(line__service_start=DEC_11).date == DEC_31
    # The job stops for a while: catching up on 3 March dates January's rest in January and
    # February's share in February.
    bill(firm, dt.date(2027, 1, 31), dt.date(2027, 2, 1))
    revenue_recognise(as_of=dt.date(2027, 3, 3))
    before = ledger(firm)
    assert ledger(firm, as_of=dt.date(2027, 1, 31))["revenue_recurring"] == D("-5200.00")
    assert ledger(firm, as_of=dt.date(2027, 2, 28))["revenue_recurring"] == D("-8300.00")
    assert sorted(Recognition.objects.values_list("date", flat=True)) == [
        DEC_31, JAN_1, dt.date(2027, 1, 31), dt.date(2027, 2, 28),
    ]  # fmt: skip
    # Twice: the same books.
    assert revenue_recognise(as_of=dt.date(2027, 3, 3))["processed"] == 0
    assert ledger(firm) == before


def test_revenue_is_recognised_daily_by_the_beat_schedule():
    task, schedule = CYCLE["recognise-revenue"]
    assert task == "psa.automation.tasks.recognise_revenue"
    assert schedule.hour == {3} and schedule.day_of_month == set(range(1, 32))
    assert CYCLE["accrue-overage"][0] == "psa.automation.tasks.accrue_overage"


# --- retainer overage: accrued at period end, relieved when billed --------------------------


def overage_retainer(customer):  # noqa: F811
    fee = fee_of(customer, start=dt.date(2026, 11, 1), included_hours="30", overage_rate="150")
    for day in range(16, 21):  # 40 h in November: 10 over
        TimeEntryFactory(
            project=fee.project, date=dt.date(2026, 11, day), hours=D("8"), status="approved"
        )
    return fee


def test_unbilled_overage_is_accrued_on_the_periods_last_day_and_relieved_to_zero(
    firm,  # noqa: F811
    customer,  # noqa: F811
):
    fee = overage_retainer(customer)
    nov_30 = dt.date(2026, 11, 30)
    assert retainer_overage_accrue(fee=fee, as_of=nov_30) == 0  # the period has not ended
    assert retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 1)) == D("1500.00")
    assert retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 2)) == 0  # idempotent
    november = ledger(firm, as_of=nov_30)
    assert (november["unbilled_revenue"], november["revenue_services"]) == (
        D("1500.00"),
        D("-1500.00"),
    )
    assert OverageAccrual.objects.get().date == nov_30
    invoice = bill(firm, nov_30, dt.date(2026, 12, 1)).invoices.get()
    overage = invoice.lines.get(kind=LineKind.OVERAGE)
    assert (overage.quantity, overage.net, overage.accrued) == (D("10"), D("1500.00"), D("1500"))
    books_now = ledger(firm)
    assert "unbilled_revenue" not in books_now  # relieved exactly: no residue
    assert books_now["revenue_services"] == D("-1500.00")  # once, in November
    assert retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 3)) == 0
    assert ledger(firm) == books_now


def test_overage_approved_after_its_period_was_billed_is_billed_by_the_next_run(
    firm,  # noqa: F811
    customer,  # noqa: F811
):
    fee = overage_retainer(customer)
    bill(firm, dt.date(2026, 11, 30), dt.date(2026, 12, 1))
    # 6 more hours of 20 November approved after November was billed.
    TimeEntryFactory(
        project=fee.project, date=dt.date(2026, 11, 20), hours=D("6"), status="approved"
    )
    retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 5))  # accrued in November
    assert ledger(firm, as_of=dt.date(2026, 11, 30))["unbilled_revenue"] == D("900.00")
    invoice = bill(firm, DEC_31, JAN_1).invoices.get()
    late = invoice.lines.get(kind=LineKind.OVERAGE)
    assert (late.quantity, late.net) == (D("6"), D("900.00"))
    assert "further time approved" in late.description
    assert "unbilled_revenue" not in ledger(firm)
    # Not twice: the next run bills no more overage of November.
    later = bill(firm, dt.date(2027, 1, 31), dt.date(2027, 2, 1)).invoices.get()
    assert not later.lines.filter(kind=LineKind.OVERAGE).exists()


# --- shown and edited: page, API, admin ---------------------------------------------------


def test_the_api_reads_and_writes_the_anchor_with_validation(client, finance, customer):  # noqa: F811
    client.force_login(finance)
    p = project(customer, "subscription")
    body = {"project": p.pk, "kind": "subscription", "description": "Devices",
            "unit_price": "10", "start_date": "2026-12-11"}  # fmt: skip
    fees = "/api/v1/billing/fees/"
    bad = client.post(fees, {**body, "period_anchor": "weekly"}, content_type="application/json")
    assert bad.status_code == 400 and "period_anchor" in bad.json()["error"]["fields"]
    assert not RecurringFee.objects.exists()
    made = client.post("/api/v1/billing/fees/", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["period_anchor"] == "calendar_month"
    url = f"/api/v1/billing/fees/{made.json()['id']}/"
    changed = client.patch(
        url, json.dumps({"period_anchor": "anniversary"}), content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["period_anchor"] == "anniversary"
    assert client.get(url).json()["period_anchor"] == "anniversary"
    billing_run_execute(legal_entity=p.legal_entity, period_end=DEC_31, today=JAN_1)
    refused = client.patch(
        url, json.dumps({"period_anchor": "calendar_month"}), content_type="application/json"
    )
    assert refused.status_code == 409 and "period_anchor" in refused.json()["error"]["fields"]


def test_the_project_page_shows_and_sets_the_anchor(client, finance, customer):  # noqa: F811
    client.force_login(finance)
    p = project(customer, "retainer")
    url = f"/billing/projects/{p.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="period_anchor"' in page.content.decode()
    client.post(url, {"action": "fee", "kind": "retainer", "description": "Support",
                      "unit_price": "100", "period_months": "1", "start_date": "2026-12-11",
                      "period_anchor": "anniversary"})  # fmt: skip
    fee = RecurringFee.objects.get()
    assert fee.period_anchor == PeriodAnchor.ANNIVERSARY
    assert "periods: from the start date" in client.get(url).content.decode()
    client.post(url, {"action": "anchor", "fee": fee.pk, "period_anchor": "calendar_month"})
    fee.refresh_from_db()
    assert fee.period_anchor == PeriodAnchor.CALENDAR_MONTH


def test_the_admin_edits_the_anchor_through_the_service(client, admin_user, customer):  # noqa: F811
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    fee = fee_of(customer)
    url = f"/admin/billing/recurringfee/{fee.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"description": "Support", "period_anchor": "anniversary"})
    assert response.status_code == 302
    fee.refresh_from_db()
    assert fee.period_anchor == PeriodAnchor.ANNIVERSARY


def test_the_daily_job_accrues_each_retainer_once(firm, customer):  # noqa: F811
    overage_retainer(customer)
    counts = []
    for _ in range(2):
        with job_run("accrue-overage") as run:
            cycle.accrue_overage(today=dt.date(2026, 12, 1), run=run)
        counts.append(dict(run.counts))
    assert counts == [
        {"processed": 1, "skipped": 0, "failed": 0},
        {"processed": 0, "skipped": 1, "failed": 0},
    ]
    assert ledger(firm)["unbilled_revenue"] == D("1500.00")


def test_voiding_an_overage_invoice_accrues_it_again_and_rebilling_relieves_it(
    firm,  # noqa: F811
    customer,  # noqa: F811
):
    fee = overage_retainer(customer)
    retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 1))
    invoice = bill(firm, dt.date(2026, 11, 30), dt.date(2026, 12, 1)).invoices.get()
    invoice_void(invoice=invoice, actor=None, reason="Wrong rate", today=dt.date(2026, 12, 2))
    assert ledger(firm)["unbilled_revenue"] == D("1500.00")  # work in progress again
    assert retainer_overage_accrue(fee=fee, as_of=dt.date(2026, 12, 3)) == 0  # not twice
    again = bill(firm, dt.date(2026, 12, 2), dt.date(2026, 12, 3)).invoices.get()
    assert again.lines.get(kind=LineKind.OVERAGE).accrued == D("1500.00")
    books_now = ledger(firm)
    assert "unbilled_revenue" not in books_now
    assert books_now["revenue_services"] == D("-1500.00")
