"""Work to cash over real HTTP against a live server, each actor with their own API token:
customer → project → a week of time in bulk → submit → approve → billing run (issued) → PDF."""

import json
import urllib.error
import urllib.request
import uuid
from decimal import Decimal as D

import pytest

from billing.models import Invoice, TaxRate
from projects.models import TemplateRate
from psa.kernel.services import api_token_create
from tests.ledger.factories import books
from tests.projects.factories import ProjectTemplateFactory


class Api:
    def __init__(self, base: str, user, *scopes: str) -> None:
        self.base = base
        _, self.token = api_token_create(user=user, name="live", scopes=list(scopes))

    def call(self, method: str, path: str, body=None) -> tuple[int, dict, bytes]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        url = self.base + path  # always the live test server's http:// address
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - test server
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body=None, expect: int = 200):
        status, _, raw = self.call(method, path, body)
        assert status == expect, (method, path, status, raw[:500])
        return json.loads(raw) if raw else None


@pytest.mark.django_db(transaction=True)
def test_work_to_cash_over_http(live_server, finance, project_manager, consultant):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    template = ProjectTemplateFactory(code="tm")
    TemplateRate.objects.create(template=template, rate=D("100.00"))
    fin = Api(live_server.url, finance, "crm:write", "projects:write", "billing:write")
    pm = Api(live_server.url, project_manager, "timesheets:write")
    me = Api(live_server.url, consultant, "timesheets:write")

    customer = fin.json("POST", "/api/v1/crm/customers/", {
        "legal_entity": "uk", "name": "Globex", "country": "GB", "currency": "GBP",
        "billing_email": "ap@globex.test"}, expect=201)  # fmt: skip
    fin.json("POST", "/api/v1/projects/", {
        "template": "tm", "customer": customer["id"], "code": "globex-web", "name": "Web",
        "start_date": "2026-11-01", "manager": project_manager.email}, expect=201)  # fmt: skip
    fin.json("POST", "/api/v1/projects/globex-web/assignments/",
             {"person": consultant.email, "role": "Developer"}, expect=201)  # fmt: skip

    cells = [{"project": "globex-web", "date": f"2026-11-{d}", "hours": "8", "note": "Build"}
             for d in (16, 17, 18)]  # fmt: skip
    entries = me.json("POST", "/api/v1/time/entries/bulk/", {"entries": cells}, expect=201)
    assert len(entries) == 3
    assert me.json("POST", "/api/v1/time/weeks/submit/", {"week": "2026-11-16"}) == {"count": 3}
    approved = pm.json("POST", "/api/v1/time/weeks/approve/",
                       {"week": "2026-11-16", "person": consultant.email})  # fmt: skip
    assert approved == {"count": 3}

    preview = fin.json("POST", "/api/v1/billing/runs/preview/",
                       {"legal_entity": "uk", "period_end": "2026-11-30"})  # fmt: skip
    assert preview["invoices"][0]["total"] == "2880.00"  # 24 h x 100 + 20 % VAT
    run = fin.json("POST", "/api/v1/billing/runs/", {
        "legal_entity": "uk", "period_end": "2026-11-30", "issue": True}, expect=201)  # fmt: skip
    assert run["invoices_created"] == 1
    page = fin.json("GET", f"/api/v1/billing/invoices/?customer={customer['id']}")
    (invoice,) = page["results"]
    assert (invoice["status"], invoice["total"]) == ("issued", "2880.00")

    status, headers, pdf = fin.call("GET", f"/api/v1/billing/invoices/{invoice['id']}/pdf/")
    assert status == 200
    assert headers["Content-Type"] == "application/pdf"
    assert pdf.startswith(b"%PDF")
    assert Invoice.objects.get(pk=invoice["id"]).pdf.name

    # The consultant's token cannot see the invoice; the finance token cannot log time.
    assert me.call("GET", "/api/v1/billing/invoices/")[0] == 403
    assert fin.call("POST", "/api/v1/time/entries/bulk/", {"entries": cells})[0] == 403
