"""A generated client is the proof: a typed Python client generated from the served schema
with openapi-python-client imports in full and carries work to cash against a live server
with real API tokens, parsing every response — the errors too, as the documented shape."""

import datetime as dt
import importlib
import json
import subprocess
import sys
import uuid
from decimal import Decimal as D
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from billing.models import TaxRate
from projects.models import TemplateRate
from psa.kernel.services import api_token_create
from tests.ledger.factories import books
from tests.projects.factories import ProjectTemplateFactory

PACKAGE = "psa_generated_client"
# The PDF is the one binary answer: the generator reads it as a file.
CONFIG = "content_type_overrides:\n  application/pdf: application/octet-stream\n"


@pytest.fixture(scope="module")
def gen(tmp_path_factory, django_db_blocker):
    """The client generated from ``/api/v1/schema/``, every module of it imported."""
    with django_db_blocker.unblock():
        served = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert served.status_code == 200
    root = tmp_path_factory.mktemp("client")
    (root / "schema.json").write_text(json.dumps(served.json()))
    (root / "config.yaml").write_text(CONFIG)
    venv_bin = Path(sys.executable).parent  # the generator formats its output with ruff
    done = subprocess.run(
        [str(venv_bin / "openapi-python-client"), "generate", "--meta", "none",
         "--path", str(root / "schema.json"), "--config", str(root / "config.yaml"),
         "--output-path", str(root / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": str(root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    modules = {}
    try:
        for path in sorted((root / PACKAGE).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = importlib.import_module(name)  # a NameError here fails the test
        yield modules
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_every_generated_module_imports(gen):
    assert len(gen) > 250
    assert f"{PACKAGE}.api.billing.billing_invoices_pdf_retrieve" in gen


class Caller:
    """One actor's generated client, with a real personal API token."""

    def __init__(self, gen, base: str, user, *scopes: str) -> None:
        _, token = api_token_create(user=user, name="generated", scopes=list(scopes))
        self.gen = gen
        self.client = gen[PACKAGE].AuthenticatedClient(base_url=base, token=token, timeout=60)

    def call(self, op: str, expect: int, **kwargs):
        """Call ``op`` through the generated module; the parsed body, typed by the schema."""
        area = op.split("_", 1)[0]
        module = self.gen[f"{PACKAGE}.api.{area}.{op}"]
        if op.endswith(("_create",)) and "idempotency_key" not in kwargs:
            kwargs["idempotency_key"] = str(uuid.uuid4())
        response = module.sync_detailed(client=self.client, **kwargs)
        assert response.status_code == expect, (op, response.status_code, response.content[:500])
        assert response.parsed is not None, (op, "the client could not parse the answer")
        return response


def model(gen, name: str):
    return getattr(gen[f"{PACKAGE}.models"], name)


def error_of(response):
    """A 4xx parsed as the documented error shape."""
    error = response.parsed
    assert type(error).__name__ == "Error", type(error)
    assert error.error.code and error.error.message
    return error.error


@pytest.mark.django_db(transaction=True)
def test_work_to_cash_through_the_generated_client(
    gen, live_server, finance, project_manager, consultant
):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    template = ProjectTemplateFactory(code="tm")
    TemplateRate.objects.create(template=template, rate=D("90.00"))
    fin = Caller(gen, live_server.url, finance, "crm:write", "projects:write", "billing:write",
                 "ledger:read")  # fmt: skip
    pm = Caller(gen, live_server.url, project_manager, "timesheets:write")
    me = Caller(gen, live_server.url, consultant, "timesheets:write")
    m = lambda name: model(gen, name)  # noqa: E731

    customer = fin.call("crm_customers_create", 201, body=m("CustomerCreateIn")(
        legal_entity="uk", name="Globex", country="GB", currency="GBP",
        billing_email="ap@globex.test")).parsed  # fmt: skip
    assert customer.name == "Globex" and customer.id > 0
    project = fin.call("projects_create", 201, body=m("ProjectCreateIn")(
        template="tm", customer=customer.id, code="globex-web", name="Web",
        start_date=dt.date(2026, 11, 1), manager=project_manager.email)).parsed  # fmt: skip
    assert project.code == "globex-web"
    rate = fin.call("projects_rates_create", 201, code="globex-web", body=m("RateIn")(
        rate="100.00", effective_from=dt.date(2026, 11, 2))).parsed  # fmt: skip
    assert D(rate.rate) == D("100.00")
    fin.call("projects_assignments_create", 201, code="globex-web", body=m("AssignmentIn")(
        person=consultant.email, role="Developer"))  # fmt: skip

    cells = [m("Cell")(project="globex-web", date=dt.date(2026, 11, d), hours="8", note="Build")
             for d in (16, 17, 18)]  # fmt: skip
    entries = me.call("time_entries_bulk_create", 201, body=m("BulkIn")(entries=cells)).parsed
    assert [e.status.value for e in entries] == ["draft"] * 3
    week = m("Week")(week=dt.date(2026, 11, 16))
    assert me.call("time_weeks_submit_create", 200, body=week).parsed.count == 3
    approved = pm.call("time_weeks_approve_create", 200, body=m("PersonWeek")(
        week=dt.date(2026, 11, 16), person=consultant.email)).parsed  # fmt: skip
    assert approved.count == 3

    run = fin.call("billing_runs_create", 201, body=m("RunExecuteIn")(
        legal_entity="uk", period_end=dt.date(2026, 11, 30))).parsed  # fmt: skip
    assert run.invoices_created == 1
    (draft,) = fin.call("billing_invoices_list", 200, customer=customer.id).parsed.results
    assert (draft.status.value, draft.total) == ("draft", "2880.00")  # 24 h x 100 + 20 % VAT
    issued = fin.call("billing_invoices_issue_create", 200, id=draft.id).parsed
    assert issued.status.value == "issued" and issued.number

    pdf = fin.call("billing_invoices_pdf_retrieve", 200, id=draft.id)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.parsed.payload.read().startswith(b"%PDF")

    key = str(uuid.uuid4())
    pay = m("PaymentIn")(invoice=draft.id, amount="2880.00", received_on=dt.date(2026, 12, 1),
                         reference="BACS 1")  # fmt: skip
    paid = fin.call("payments_create", 201, body=pay, idempotency_key=key).parsed
    again = fin.call("payments_create", 201, body=pay, idempotency_key=key).parsed
    assert again.id == paid.id  # the retry answered the first payment, not a second one
    (listed,) = fin.call("payments_list", 200, invoice=draft.id).parsed.results
    assert (listed.id, listed.amount) == (paid.id, "2880.00")
    invoice = fin.call("billing_invoices_retrieve", 200, id=draft.id).parsed
    assert (invoice.status.value, invoice.amount_due) == ("paid", "0.00")

    balance = fin.call("ledger_reports_trial_balance_retrieve", 200, code="uk",
                       as_of=dt.date(2026, 12, 31)).parsed  # fmt: skip
    assert balance.total_debit == balance.total_credit
    assert D(balance.total_debit) > 0
    entries = fin.call("ledger_entries_list", 200, code="uk", since=dt.date(2026, 12, 1),
                       until=dt.date(2026, 12, 31)).parsed  # fmt: skip
    assert entries.results  # the payment, dated in December
    assert {e.date.month for e in entries.results} == {12}


@pytest.mark.django_db(transaction=True)
def test_the_main_errors_parse_as_the_documented_shape(gen, live_server, finance, project_manager):
    books(code="uk", functional_currency="GBP", name="Acme UK")
    ProjectTemplateFactory(code="tm")
    fin = Caller(gen, live_server.url, finance, "crm:write", "projects:write", "billing:write")
    m = lambda name: model(gen, name)  # noqa: E731

    bad = fin.call("crm_customers_create", 400, body=m("CustomerCreateIn")(
        legal_entity="uk", name="Globex", country="ZZ", currency="GBP",
        billing_email="ap@globex.test"))  # fmt: skip
    assert "country" in error_of(bad).fields.additional_properties

    missing = fin.call("billing_invoices_retrieve", 404, id=999999)
    assert error_of(missing).code == "not_found"
    assert fin.call("billing_invoices_pdf_retrieve", 404, id=999999).parsed.error.code

    item = m("ServiceItemIn")(code="audit", name="Audit")
    fin.call("projects_service_items_create", 201, body=item)
    taken = fin.call("projects_service_items_create", 409, body=item)
    assert "code" in error_of(taken).fields.additional_properties

    customer = fin.call("crm_customers_create", 201, body=m("CustomerCreateIn")(
        legal_entity="uk", name="Initech", country="GB", currency="GBP",
        billing_email="ap@initech.test")).parsed  # fmt: skip
    read = fin.call("crm_customers_retrieve", 200, id=customer.id)
    etag = read.headers["etag"]
    change = m("PatchedCustomerChangeIn")(name="Initech Ltd")
    fin.call("crm_customers_partial_update", 200, id=customer.id, body=change, if_match=etag)
    stale = fin.call("crm_customers_partial_update", 412, id=customer.id, body=change,
                     if_match=etag)  # fmt: skip
    assert error_of(stale).code

    reserved = fin.call("projects_create", 400, body=m("ProjectCreateIn")(
        template="tm", customer=customer.id, code="milestones", name="Clash",
        start_date=dt.date(2026, 11, 1), manager=project_manager.email))  # fmt: skip
    assert "code" in error_of(reserved).fields.additional_properties
