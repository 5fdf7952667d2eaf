"""Bad money input over the API is a 4xx naming the field and writes nothing: an unknown
currency (XXQ), a country that is not ISO 3166 (ZZ), an amount or rate finer than its
currency's minor unit (12.5 JPY, 1.005 EUR), a missing exchange rate (409). And amounts come
back with their own currency's decimals (KWD 3, EUR 2, JPY 0)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, Payment, TaxRate
from billing.services import billing_run_execute, invoice_issue
from crm.models import Customer, Opportunity
from ledger.models import FxRate, JournalEntry
from projects.models import RateCard
from tests.api.conftest import as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import Expense, TimeEntry

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)


@pytest.fixture
def uk():
    entity = books(code="uk", functional_currency="GBP")
    TaxRate.objects.create(legal_entity=entity, name="VAT", rate=D("0.20"), is_default=True)
    return entity


def _refused(response, field, status=400):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert field in body["fields"], body
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [({"currency": "XXQ"}, "currency"), ({"currency": "CLF"}, "currency"),
     ({"country": "ZZ"}, "country")],
)  # fmt: skip
def test_a_customer_with_an_unknown_currency_or_country_is_refused(finance, uk, change, field):
    client = as_user(finance)
    body = {"legal_entity": "uk", "name": "Initech", "country": "GB", "currency": "GBP", **change}
    _refused(client.post("/api/v1/crm/customers/", body, format="json"), field)
    assert not Customer.objects.exists()

    customer = CustomerFactory(legal_entity=uk)
    etag = client.get(f"/api/v1/crm/customers/{customer.pk}/")["ETag"]
    changed = client.patch(
        f"/api/v1/crm/customers/{customer.pk}/", change, format="json", HTTP_IF_MATCH=etag
    )
    _refused(changed, field)
    customer.refresh_from_db()
    assert (customer.country, customer.currency) == ("GB", "GBP")


def test_an_opportunity_in_xxq_or_worth_1_005_eur_is_refused(finance, uk):
    client = as_user(finance)
    customer = CustomerFactory(legal_entity=uk, currency="EUR", country="NL")
    body = {"name": "Deal", "customer": customer.pk}
    bad_code = client.post("/api/v1/crm/opportunities/", {**body, "currency": "XXQ"}, format="json")
    _refused(bad_code, "currency")
    too_fine = client.post("/api/v1/crm/opportunities/", {**body, "value": "1.005"}, format="json")
    _refused(too_fine, "value")
    assert not Opportunity.objects.exists()
    kwd = client.post(
        "/api/v1/crm/opportunities/", {**body, "value": "1.005", "currency": "KWD"}, format="json"
    )
    assert kwd.status_code == 201, kwd.content
    assert kwd.json()["value"] == "1.005"


def test_an_expense_in_xxq_or_of_12_5_jpy_is_refused(consultant, uk):
    project = ProjectFactory(customer=CustomerFactory(legal_entity=uk), code="apollo")
    AssignmentFactory(project=project, person=consultant)
    client = as_user(consultant)
    body = {"project": "apollo", "date": "2026-11-16", "amount": "42.10", "category": "travel"}
    _refused(client.post("/api/v1/time/expenses/", {**body, "currency": "XXQ"}), "currency")
    _refused(
        client.post("/api/v1/time/expenses/", {**body, "amount": "12.5", "currency": "JPY"}),
        "amount",
    )
    _refused(client.post("/api/v1/time/expenses/", {**body, "amount": "1.005"}), "amount")
    assert not Expense.objects.exists()
    kwd = client.post("/api/v1/time/expenses/", {**body, "amount": "1.005", "currency": "KWD"})
    assert kwd.status_code == 201, kwd.content
    assert Expense.objects.get().amount == D("1.005")


@pytest.mark.parametrize(
    ("currency", "rate", "shown"),
    [("JPY", "12.5", None), ("EUR", "1.005", None), ("KWD", "12.345", "12.345"),
     ("EUR", "12.3", "12.30"), ("JPY", "15000", "15000")],
)  # fmt: skip
def test_a_rate_has_at_most_its_currencys_decimals(project_manager, uk, currency, rate, shown):
    customer = CustomerFactory(legal_entity=uk, currency=currency)
    project = ProjectFactory(customer=customer, manager=project_manager, code="p")
    response = as_user(project_manager).post(
        "/api/v1/projects/p/rates/", {"rate": rate, "effective_from": "2026-11-01"}, format="json"
    )
    if shown is None:
        _refused(response, "rate")
        assert not RateCard.objects.filter(project=project).exists()
    else:
        assert response.status_code == 201, response.content
        assert response.json()["rate"] == shown
        assert RateCard.objects.get(project=project).rate == D(rate)


def _draft(entity, currency, rate, hours, consultant):
    customer = CustomerFactory(legal_entity=entity, currency=currency)
    project = ProjectFactory(customer=customer)
    RateCardFactory(project=project, rate=D(rate), currency=currency)
    TimeEntryFactory(
        project=project, person=consultant, date=MONDAY, hours=D(hours), status="approved"
    )
    billing_run_execute(legal_entity=entity, period_end=dt.date(2026, 11, 30), customer=customer)
    return Invoice.objects.get(customer=customer)


def test_invoices_show_each_currency_with_its_own_decimals(finance, consultant, uk):
    for currency in ("KWD", "JPY", "EUR"):
        FxRate.objects.create(currency=currency, functional_currency="GBP", date=MONDAY, rate=1)
    kwd = _draft(uk, "KWD", "12.345", "7.5", consultant)
    jpy = _draft(uk, "JPY", "15000", "7.5", consultant)
    eur = _draft(uk, "EUR", "100.10", "2", consultant)
    client = as_user(finance)
    for invoice, total, net in ((kwd, "111.106", "92.588"), (jpy, "135000", "112500"),
                                (eur, "240.24", "200.20")):  # fmt: skip
        invoice_issue(invoice=invoice, today=dt.date(2026, 12, 1))
        data = client.get(f"/api/v1/billing/invoices/{invoice.pk}/").json()
        assert (data["total"], data["amount_due"], data["lines"][0]["net"]) == (total, total, net)


def test_a_payment_of_1_005_eur_is_refused_and_writes_nothing(finance, consultant, uk):
    FxRate.objects.create(currency="EUR", functional_currency="GBP", date=MONDAY, rate=D("0.85"))
    invoice = _draft(uk, "EUR", "100", "2", consultant)
    invoice_issue(invoice=invoice, today=dt.date(2026, 12, 1))
    body = {"invoice": invoice.pk, "amount": "1.005", "received_on": "2026-12-02"}
    _refused(as_user(finance).post("/api/v1/payments/", body, format="json"), "amount")
    assert not Payment.objects.exists()

    # 1.005 KWD is three fils short of nothing: a payment like any other.
    FxRate.objects.create(currency="KWD", functional_currency="GBP", date=MONDAY, rate=D("2.5"))
    kwd = _draft(uk, "KWD", "12.345", "7.5", consultant)
    invoice_issue(invoice=kwd, today=dt.date(2026, 12, 1))
    paid = as_user(finance).post(
        "/api/v1/payments/", {**body, "invoice": kwd.pk}, format="json"
    )  # fmt: skip
    assert paid.status_code == 201, paid.content
    assert (paid.json()["amount"], Payment.objects.get().amount) == ("1.005", D("1.005"))


def test_a_missing_rate_when_issuing_is_a_409_naming_it_and_nothing_is_issued(
    finance, consultant, uk
):
    invoice = _draft(uk, "EUR", "100", "2", consultant)
    before = JournalEntry.objects.count()
    response = as_user(finance).post(f"/api/v1/billing/invoices/{invoice.pk}/issue/")
    body = _refused(response, "fx_rate", status=409)
    assert body["code"] == "fx_rate_missing"
    assert "No EUR\u2192GBP rate on or before 2026-" in body["message"]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == ("draft", None)
    assert JournalEntry.objects.count() == before


def test_a_missing_rate_when_paying_by_hand_is_a_409_and_nothing_is_written(
    finance, consultant, uk
):
    FxRate.objects.create(currency="EUR", functional_currency="GBP", date=MONDAY, rate=D("0.85"))
    invoice = _draft(uk, "EUR", "100", "2", consultant)
    invoice_issue(invoice=invoice, today=dt.date(2026, 12, 1))
    # The only rate is from before the invoice: a payment long before... no: a payment dated
    # before any rate exists.
    FxRate.objects.filter(date=MONDAY).update(date=dt.date(2026, 11, 20))
    entries = JournalEntry.objects.count()
    body = {"invoice": invoice.pk, "amount": "240.00", "received_on": "2026-11-18"}
    response = as_user(finance).post("/api/v1/payments/", body, format="json")
    assert (
        "No EUR\u2192GBP rate on or before 2026-11-18"
        in _refused(response, "fx_rate", 409)["message"]
    )
    assert not Payment.objects.exists()
    assert JournalEntry.objects.count() == entries
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_a_missing_rate_when_approving_is_a_409_and_nothing_is_approved(
    project_manager, consultant, uk
):
    customer = CustomerFactory(legal_entity=uk, currency="KWD", country="KW")
    project = ProjectFactory(customer=customer, manager=project_manager)
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D("12.345"), currency="KWD")
    TimeEntryFactory(project=project, person=consultant, date=MONDAY, status="submitted")
    response = as_user(project_manager).post(
        "/api/v1/time/weeks/approve/",
        {"week": "2026-11-16", "person": consultant.email},
        format="json",
    )
    assert "No KWD\u2192GBP rate" in _refused(response, "fx_rate", 409)["message"]
    assert TimeEntry.objects.get().status == "submitted"
    assert not JournalEntry.objects.exists()


def test_a_project_budget_finer_than_its_currency_is_refused(finance, project_manager, uk):
    from projects.models import Project
    from tests.projects.factories import ProjectTemplateFactory

    template = ProjectTemplateFactory(code="std")
    customer = CustomerFactory(legal_entity=uk, currency="JPY", country="JP")
    body = {"template": template.code, "customer": customer.pk, "code": "tokyo", "name": "Tokyo",
            "start_date": "2026-12-01", "manager": project_manager.email}  # fmt: skip
    client = as_user(finance)
    refused = client.post("/api/v1/projects/", {**body, "budget_amount": "100.5"}, format="json")
    _refused(refused, "budget_amount")
    assert not Project.objects.exists()
    made = client.post("/api/v1/projects/", {**body, "budget_amount": "100000"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["budget_amount"] == "100000"
