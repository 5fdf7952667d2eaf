"""The API's edge (issue 16): dates within the policy, unknown fields and orderings refused,
idempotency keys kept only for requests allowed to run, a JSON 413, JSON errors on the PDF
endpoint, nobody approving their own time. Each input here was a 5xx or a silent 2xx."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Invoice, Payment, TaxRate
from billing.services import billing_run_execute
from crm.models import Customer
from ledger.models import JournalEntry
from psa.kernel import dates
from psa.kernel.models import ApiToken, IdempotencyRecord
from tests.api.conftest import as_token, as_user
from tests.crm.factories import CustomerFactory, OpportunityFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, ProjectTemplateFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db

FAR = "9999-12-31"


@pytest.fixture
def uk():
    entity = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=entity, name="VAT 20%", rate=D("0.20"), is_default=True)
    return entity


@pytest.fixture
def issued(uk, finance):
    """An issued invoice of 2160.00 GBP (15 h at 120, 20% VAT)."""
    customer = CustomerFactory(legal_entity=uk, name="Northwind", currency="GBP")
    erp = ProjectFactory(customer=customer, code="erp")
    RateCardFactory(project=erp, rate=D("120.00"), currency="GBP")
    for day in (16, 17):
        TimeEntryFactory(project=erp, date=dt.date(2026, 11, day), hours=D("7.5"),
                         status="approved")  # fmt: skip
    billing_run_execute(legal_entity=uk, period_end=dt.date(2026, 11, 30), actor=finance,
                        issue=True, today=dt.date(2026, 12, 1))  # fmt: skip
    return Invoice.objects.get()


def _refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert field in body["fields"], body


# --- 1. one date policy ---------------------------------------------------------------------


def test_the_policy_ranges():
    assert dates.date_problem(dt.date(1970, 1, 1)) is None
    assert dates.date_problem(dt.date(2100, 12, 31)) is None
    assert dates.date_problem(dt.date(1969, 12, 31)) and dates.date_problem(dt.date(2101, 1, 1))
    today = dt.date(2026, 12, 2)
    assert dates.bounds(operational=True, today=today) == (dt.date(2016, 1, 1),
                                                           dt.date(2027, 12, 31))  # fmt: skip
    assert dates.date_problem(dt.date(2028, 1, 1), operational=True, today=today)


def test_a_far_week_is_a_400_not_a_500(consultant, project):
    client = as_user(consultant)
    _refused(client.get(f"/api/v1/time/entries/?week={FAR}"), "week")
    _refused(client.post("/api/v1/time/weeks/submit/", {"week": FAR}, format="json"), "week")
    cell = {"project": "apollo", "date": FAR, "hours": "1"}
    _refused(client.put("/api/v1/time/cell/", cell, format="json"), "date")
    cell["date"] = f"{timezone.localdate().year + 3}-01-05"  # a typo in the year
    _refused(client.put("/api/v1/time/cell/", cell, format="json"), "date")
    assert not TimeEntry.objects.exists()


def test_a_far_start_date_period_end_or_as_of_is_a_400(finance, project_manager, uk):
    customer = CustomerFactory(legal_entity=uk)
    ProjectTemplateFactory(code="std")
    client = as_user(finance)
    project = {"template": "std", "customer": customer.pk, "code": "far", "name": "Far",
               "start_date": FAR, "manager": project_manager.email}  # fmt: skip
    _refused(client.post("/api/v1/projects/", project, format="json"), "start_date")
    run = {"legal_entity": "uk", "period_end": FAR}
    _refused(client.post("/api/v1/billing/runs/preview/", run, format="json"), "period_end")
    _refused(client.post("/api/v1/billing/runs/", run, format="json"), "period_end")
    _refused(client.get("/api/v1/ledger/uk/reports/ar-aging/?as_of=0001-01-01"), "as_of")
    _refused(client.get("/api/v1/billing/invoices/?issue_date_after=0001-01-01"),
             "issue_date_after")  # fmt: skip


def test_an_odd_offset_is_read_in_utc_and_a_far_instant_is_a_400(finance):
    client = as_user(finance)
    ok = client.get("/api/v1/jobs/", {"updated_since": "2026-01-01T00:00:00+23:00"})
    assert ok.status_code == 200, ok.content
    _refused(client.get("/api/v1/jobs/", {"updated_since": "9999-12-31T23:59:59-23:59"}),
             "updated_since")  # fmt: skip


def test_winning_without_a_template_uses_the_planned_one(finance, project_manager, uk):
    template = ProjectTemplateFactory(code="std")
    opp = OpportunityFactory(customer=CustomerFactory(legal_entity=uk), legal_entity=uk,
                             project_template=template)  # fmt: skip
    won = as_user(finance).post(f"/api/v1/crm/opportunities/{opp.pk}/win/", {
        "project_code": "deal-1", "start_date": "2026-12-01",
        "manager": project_manager.email}, format="json")  # fmt: skip
    assert won.status_code == 200, won.content
    assert won.json()["project"] == "deal-1"


def test_the_invoice_page_refuses_a_customer_that_is_not_an_id(finance, uk):
    client = as_user(finance)
    assert client.get("/billing/", {"customer": "'"}).status_code == 400
    assert client.get("/billing/", {"from": FAR}).status_code == 400


@pytest.mark.parametrize("received_on", ["0001-01-01", FAR])
def test_a_payment_on_a_far_day_is_a_400_and_books_nothing(finance, issued, received_on):
    entries = JournalEntry.objects.count()
    body = {"invoice": issued.pk, "amount": "100.00", "received_on": received_on}
    response = as_user(finance).post("/api/v1/payments/", body, format="json")
    _refused(response, "received_on")
    assert not Payment.objects.exists() and JournalEntry.objects.count() == entries


# --- 2. unknown fields ----------------------------------------------------------------------


def test_an_unknown_field_is_a_400_naming_it(finance, consultant, project, uk):
    customer = CustomerFactory(legal_entity=uk, is_active=True)
    response = as_user(finance).patch(f"/api/v1/crm/customers/{customer.pk}/",
                                      {"is_actve": False}, format="json")  # fmt: skip
    _refused(response, "is_actve")
    assert Customer.objects.get(pk=customer.pk).is_active
    cell = {"project": "apollo", "date": "2026-11-16", "hours": "1"}
    bulk = "/api/v1/time/entries/bulk/"
    response = as_user(consultant).post(bulk, {"entries": [cell], "dry_run": True}, format="json")
    _refused(response, "dry_run")
    body = {"entries": [cell | {"colour": "red"}]}
    response = as_user(consultant).post(bulk, body, format="json")
    _refused(response, "entries[0].colour")
    assert not TimeEntry.objects.exists()


# --- 3. ordering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/billing/fees/", "/api/v1/ledger/uk/accounts/", "/api/v1/ledger/uk/entries/",
     "/api/v1/ledger/entities/", "/api/v1/payments/", "/api/v1/payments/attempts/",
     "/api/v1/crm/customers/"],
)  # fmt: skip
def test_an_unknown_ordering_is_a_400(finance, uk, path):
    _refused(as_user(finance).get(path, {"ordering": "nonsense"}), "ordering")


def test_ordering_given_twice_is_refused_not_truncated(finance, uk):
    client = as_user(finance)
    _refused(client.get("/api/v1/crm/customers/?ordering=name&ordering=-id"), "ordering")
    assert client.get("/api/v1/crm/customers/?ordering=name,-id").status_code == 200


# --- 4. idempotency after authentication and authorisation ----------------------------------


def test_a_refused_request_does_not_keep_its_idempotency_key(consultant, project):
    cell = {"entries": [{"project": "apollo", "date": "2026-11-16", "hours": "1"}]}
    bogus = as_user(consultant)
    bogus.logout()
    bogus.credentials(HTTP_AUTHORIZATION="Bearer psa_not-a-token", HTTP_IDEMPOTENCY_KEY="k1")
    assert bogus.post("/api/v1/time/entries/bulk/", cell, format="json").status_code == 401
    assert bogus.post("/api/v1/time/entries/bulk/", {"x": 1}, format="json").status_code == 401
    assert not IdempotencyRecord.objects.exists()

    client = as_token(consultant, "timesheets:read")  # lacks the scope to write
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
                       HTTP_IDEMPOTENCY_KEY="k2")  # fmt: skip
    assert client.post("/api/v1/time/entries/bulk/", cell, format="json").status_code == 403
    assert not IdempotencyRecord.objects.exists()
    ApiToken.objects.update(scopes=["timesheets:write"])  # granted: the retry must run
    retry = client.post("/api/v1/time/entries/bulk/", cell, format="json")
    assert retry.status_code == 201, retry.content
    assert TimeEntry.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


# --- 5. a JSON 413, JSON errors --------------------------------------------------------------


def test_an_oversized_body_is_a_json_413(finance, uk):
    client = as_token(finance, "crm:write")
    big = '{"name": "' + "x" * (3 * 1024 * 1024) + '"}'
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "big"}):
        response = client.post("/api/v1/crm/customers/", big, content_type="application/json",
                               **headers)  # fmt: skip
        assert response.status_code == 413
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "request_too_large"
    assert not Customer.objects.exists()


def test_a_404_of_the_pdf_endpoint_is_labelled_json(finance, uk):
    response = as_user(finance).get("/api/v1/billing/invoices/999999/pdf/",
                                    HTTP_ACCEPT="application/pdf")  # fmt: skip
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


# --- 6. nobody approves their own time -------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "finance", "project_manager"])
def test_nobody_approves_their_own_week(request, who):
    person = request.getfixturevalue(who)
    ProjectFactory(code="own", manager=person)
    entry = TimeEntryFactory(person=person, project__code="own2", date=dt.date(2026, 11, 16),
                             status="submitted")  # fmt: skip
    entry.project.manager = person
    entry.project.save(update_fields=["manager"])
    body = {"person": person.email, "week": "2026-11-16"}
    response = as_user(person).post("/api/v1/time/weeks/approve/", body, format="json")
    assert response.status_code == 403, response.content
    assert TimeEntry.objects.get(pk=entry.pk).status == "submitted"
    page = as_user(person).post("/time/approvals/approve/",
                                {"week": f"{person.pk}:2026-11-16"})  # fmt: skip
    assert page.status_code == 403
    assert TimeEntry.objects.get(pk=entry.pk).status == "submitted"


def test_a_one_person_firm_may_allow_self_approval(settings, admin_user):
    settings.TIME_SELF_APPROVAL = True
    entry = TimeEntryFactory(person=admin_user, date=dt.date(2026, 11, 16), status="submitted")
    body = {"person": admin_user.email, "week": "2026-11-16"}
    response = as_user(admin_user).post("/api/v1/time/weeks/approve/", body, format="json")
    assert response.status_code == 200, response.content
    assert TimeEntry.objects.get(pk=entry.pk).status == "approved"


# --- what schemathesis found: the edge answers JSON, and as the schema says --------------------


def test_an_id_that_misses_the_url_patterns_is_a_json_404(finance):
    response = as_user(finance).get("/api/v1/crm/customers/null,null/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_an_empty_query_parameter_or_a_bad_page_size_is_a_400(finance, uk):
    client = as_user(finance)
    _refused(client.get("/api/v1/ledger/uk/reports/ar-aging/?as_of="), "as_of")
    _refused(client.get("/api/v1/crm/customers/?updated_since="), "updated_since")
    for size in ("abc", "0", "501"):
        _refused(client.get("/api/v1/payments/", {"page_size": size}), "page_size")
    assert client.get("/api/v1/payments/", {"page_size": "500"}).status_code == 200


def test_a_json_value_of_the_wrong_type_is_a_400_and_a_form_body_a_415(finance, uk):
    client = as_user(finance)
    customer = CustomerFactory(legal_entity=uk, is_active=True)
    url = f"/api/v1/crm/customers/{customer.pk}/"
    _refused(client.patch(url, {"is_active": "false"}, format="json"), "is_active")
    _refused(client.patch(url, {"name": 0}, format="json"), "name")
    _refused(client.patch(url, {"payment_terms_days": "30"}, format="json"), "payment_terms_days")
    assert client.patch(url, {"is_active": "false"}, format="multipart").status_code == 415
    assert Customer.objects.get(pk=customer.pk).is_active


def test_a_lead_whose_domain_is_longer_than_any_real_one_is_recorded(finance, uk):
    email = "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 20 + ".com"
    body = {"legal_entity": "uk", "name": "Ann", "email": email}
    response = as_user(finance).post("/api/v1/crm/leads/", body, format="json")
    assert response.status_code in (200, 201), response.content


def test_the_win_form_refuses_a_far_start_date(finance, project_manager, uk):
    from crm.forms import WinForm

    template = ProjectTemplateFactory(code="std")
    form = WinForm(data={"template": template.pk, "project_code": "x", "start_date": FAR,
                         "manager": project_manager.pk})  # fmt: skip
    assert not form.is_valid() and "start_date" in form.errors


def test_a_boolean_filter_takes_true_or_false_only(finance, uk):
    client = as_user(finance)
    CustomerFactory(legal_entity=uk, is_active=False)
    _refused(client.get("/api/v1/crm/customers/", {"is_active": "maybe"}), "is_active")
    listed = client.get("/api/v1/crm/customers/", {"is_active": "false"})
    assert listed.status_code == 200 and listed.json()["count"] == 1


def test_the_ledger_entries_refuse_a_page_size_beyond_the_maximum(finance, uk):
    _refused(as_user(finance).get("/api/v1/ledger/uk/entries/", {"page_size": "501"}), "page_size")


def test_an_undeclared_method_is_a_405_whatever_the_query(finance, uk):
    response = as_user(finance).generic("TRACE", "/api/v1/crm/customers/?country=")
    assert response.status_code == 405


def test_blank_is_not_null_and_null_is_not_a_boolean(finance, project_manager, project):
    client = as_user(finance)
    _refused(client.get("/api/v1/webhooks/", {"is_active": "null"}), "is_active")
    rate = {"effective_from": "2026-01-01", "person": "", "rate": "10", "role": ""}
    _refused(client.post("/api/v1/projects/apollo/rates/", rate, format="json"), "person")
    _refused(client.post("/api/v1/payments/", {"invoice": 1, "amount": ""}, format="json"),
             "amount")  # fmt: skip
