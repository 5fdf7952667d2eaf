# ruff: noqa: F811 - fixtures imported from test_billing_models
"""A service item's accounting is used: billing lines that sell one (milestones, recurring fees)
post their revenue to its role and follow its deferral rule — "none": revenue at issue;
"service_period": deferred, recognised over the line's service period by the daily job;
"on_milestone": deferred until the milestone is reached. A role that is not an income account
in the charts is refused (API 400 and admin form, naming ``revenue_account_role``).
Balances by role, debit minus credit (GBP)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import FeeKind, InvoiceLine
from billing.services import invoice_void
from billing.services.recurring import (
    billing_terms_set,
    recurring_fee_create,
    revenue_recognise,
)
from ledger.selectors import trial_balance
from projects.admin import ServiceItemForm
from projects.models import DeferralRule, ServiceItem
from projects.services import milestone_reach
from psa.kernel import errors
from tests.api.conftest import as_user
from tests.billing.test_billing_models import (  # noqa: F401 - fixtures
    DEC_1,
    NOV_30,
    customer,
    firm,
    ledger,
    project,
    run,
)
from tests.projects.factories import MilestoneFactory

pytestmark = pytest.mark.django_db


def item(role="revenue_services", rule=DeferralRule.NONE, code=None):
    return ServiceItem.objects.create(
        code=code or f"{role}-{rule}".replace("_", "-"),
        name="Item",
        revenue_account_role=role,
        deferral_rule=rule,
    )


def balanced(firm):
    rows = trial_balance(legal_entity=firm, as_of=dt.date(2027, 12, 31))
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return ledger(firm)


def planned_milestone(customer, service_item):
    fixed = project(customer, "fixed_price")
    billing_terms_set(project=fixed, actor=None, milestones_on_planned_date=True)
    return MilestoneFactory(
        project=fixed, name="Build", amount=D("9000.00"), planned_date=NOV_30,
        service_item=service_item,
    )  # fmt: skip


def test_a_milestone_item_without_deferral_is_revenue_on_its_role_at_issue(firm, customer):
    build = planned_milestone(customer, item())
    invoice = run(firm).invoices.get()
    books = balanced(firm)
    assert books["revenue_services"] == D("-9000.00")  # not fixed-fee, not deferred
    assert "deferred_revenue" not in books and "revenue_fixed_fee" not in books
    # Reaching it later books nothing more: the revenue was taken at issue.
    milestone_reach(milestone=build, on=dt.date(2026, 12, 5))
    assert balanced(firm)["revenue_services"] == D("-9000.00")
    # A credit note reverses it on the same role.
    invoice_void(invoice=invoice, actor=None, reason="Wrong amount", today=DEC_1)
    books = balanced(firm)
    assert "revenue_services" not in books and "accounts_receivable" not in books


def test_an_on_milestone_item_is_deferred_until_reached_then_revenue_on_its_role(firm, customer):
    build = planned_milestone(customer, item(rule=DeferralRule.ON_MILESTONE))
    run(firm)
    books = balanced(firm)
    assert books["deferred_revenue"] == D("-9000.00")
    assert "revenue_services" not in books and "revenue_fixed_fee" not in books
    milestone_reach(milestone=build, on=dt.date(2026, 12, 5))
    books = balanced(firm)
    assert books["revenue_services"] == D("-9000.00")
    assert "deferred_revenue" not in books and "revenue_fixed_fee" not in books


def subscription(customer, service_item):
    p = project(customer, "retainer")
    recurring_fee_create(
        project=p, kind=FeeKind.SUBSCRIPTION, description="Hosting", unit_price="3100",
        start_date=dt.date(2026, 12, 1), actor=None, service_item=service_item,
    )  # fmt: skip
    return p


def test_a_fee_item_over_its_service_period_is_recognised_daily_on_its_role(firm, customer):
    subscription(customer, item(rule=DeferralRule.SERVICE_PERIOD))
    invoice = run(firm).invoices.get()
    line = invoice.lines.get()
    assert (line.service_start, line.service_end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert (line.revenue_role, line.deferral_rule) == ("revenue_services", "service_period")
    books = balanced(firm)
    assert books["deferred_revenue"] == D("-3100.00")
    assert "revenue_services" not in books and "revenue_recurring" not in books

    assert revenue_recognise(as_of=dt.date(2026, 12, 15))["processed"] == 1
    books = balanced(firm)
    assert books["revenue_services"] == D("-1500.00")  # 15 of 31 days
    assert books["deferred_revenue"] == D("-1600.00")
    assert "revenue_recurring" not in books

    revenue_recognise(as_of=dt.date(2026, 12, 31))
    books = balanced(firm)
    assert books["revenue_services"] == D("-3100.00")
    assert "deferred_revenue" not in books


def test_a_fee_item_without_deferral_is_revenue_at_issue_and_never_recognised(firm, customer):
    subscription(customer, item())
    run(firm)
    books = balanced(firm)
    assert books["revenue_services"] == D("-3100.00")
    assert "deferred_revenue" not in books and "revenue_recurring" not in books
    assert revenue_recognise(as_of=dt.date(2026, 12, 31))["processed"] == 0
    assert balanced(firm) == books


def test_a_fee_without_an_item_keeps_recurring_revenue_over_its_period(firm, customer):
    subscription(customer, None)
    run(firm)
    assert balanced(firm)["deferred_revenue"] == D("-3100.00")
    revenue_recognise(as_of=dt.date(2026, 12, 31))
    books = balanced(firm)
    assert books["revenue_recurring"] == D("-3100.00")
    assert InvoiceLine.objects.get().revenue_role == ""


def test_a_fee_cannot_sell_an_item_deferred_to_a_milestone(firm, customer):
    with pytest.raises(errors.ValidationFailed) as exc:
        subscription(customer, item(rule=DeferralRule.ON_MILESTONE))
    assert "service_item" in exc.value.fields


@pytest.mark.parametrize(
    ("role", "why"),
    [("revenue_consulting", "Unknown account role."), ("bank", "Not an income account")],
)
def test_the_api_refuses_a_role_that_is_not_an_income_account_in_the_chart(
    firm, finance, role, why
):
    response = as_user(finance).post(
        "/api/v1/projects/service-items/",
        {"code": "audit", "name": "Audit", "revenue_account_role": role},
        format="json",
    )
    assert response.status_code == 400
    assert why in response.json()["error"]["fields"]["revenue_account_role"][0]
    assert not ServiceItem.objects.exists()


def test_the_api_adds_an_item_with_a_revenue_role_of_the_chart(firm, finance, consultant):
    body = {"code": "audit", "name": "Audit", "revenue_account_role": "revenue_fixed_fee",
            "deferral_rule": "on_milestone"}  # fmt: skip
    refused = as_user(consultant).post("/api/v1/projects/service-items/", body, format="json")
    assert refused.status_code == 403
    response = as_user(finance).post("/api/v1/projects/service-items/", body, format="json")
    assert response.status_code == 201
    assert ServiceItem.objects.get().revenue_account_role == "revenue_fixed_fee"


def test_the_admin_form_refuses_an_unknown_role(firm):
    data = {"code": "x", "name": "X", "revenue_account_role": "nope", "deferral_rule": "none",
            "tax_category": "standard", "active": True}  # fmt: skip
    form = ServiceItemForm(data=data)
    assert not form.is_valid()
    assert "revenue_account_role" in form.errors
    assert ServiceItemForm(data={**data, "revenue_account_role": "revenue_services"}).is_valid()
