"""Automation policies over the API: read the entity's and the overrides, add an override,
change with If-Match, remove an override; finance and admins only."""

from decimal import Decimal as D

import pytest

from psa.automation.models import AutomationPolicy
from psa.automation.policies import automation_policy_set
from psa.kernel.models import AuditEvent
from tests.api.conftest import as_token, as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db
POLICIES = "/api/v1/automation/policies/"


@pytest.fixture
def firm(finance, project_manager):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    customer = CustomerFactory(legal_entity=uk, name="Globex")
    project = ProjectFactory(customer=customer, code="p1", manager=project_manager)
    entity_policy = automation_policy_set(legal_entity=uk, actor=finance, values={})
    automation_policy_set(legal_entity=uk, customer=customer, actor=finance,
                          values={"auto_issue": True})  # fmt: skip
    return {"entity": uk, "customer": customer, "project": project, "policy": entity_policy}


def test_read_the_entity_s_policy_and_its_overrides(finance, firm):
    client = as_user(finance)
    rows = client.get(POLICIES, {"legal_entity": "uk"}).json()["results"]
    assert [(r["scope"], r["auto_issue"]) for r in rows] == [("legal_entity", False),
                                                            ("customer", True)]  # fmt: skip
    assert rows[1]["auto_approve"] is None  # inherits
    only = client.get(POLICIES, {"scope": "customer"}).json()["results"]
    assert [r["customer"] for r in only] == [firm["customer"].pk]
    assert client.get(POLICIES, {"scope": "galaxy"}).status_code == 400


def test_add_a_project_override_then_a_second_is_409(finance, firm):
    client = as_token(finance, "automation:write")
    body = {"legal_entity": "uk", "project": "p1", "auto_send": True, "review_above": "5000"}
    created = client.post(POLICIES, body, format="json")
    assert created.status_code == 201, created.content
    row = AutomationPolicy.objects.get(project=firm["project"])
    assert row.auto_send is True and row.review_above == D("5000") and row.auto_issue is None
    again = client.post(POLICIES, {**body, "auto_send": False}, format="json")
    assert again.status_code == 409 and "project" in again.json()["error"]["fields"]
    assert AutomationPolicy.objects.get(project=firm["project"]).auto_send is True


def test_patch_changes_only_what_is_sent_and_a_stale_etag_is_412(finance, firm):
    client = as_user(finance)
    url = f"{POLICIES}{firm['policy'].pk}/"
    etag = client.get(url)["ETag"]
    changed = client.patch(url, {"invoicing": "monthly", "invoice_day": 5}, format="json",
                           HTTP_IF_MATCH=etag)  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["invoicing"] == "monthly" and changed.json()["invoice_day"] == 5
    assert changed.json()["auto_approve"] is True  # unchanged
    assert AuditEvent.objects.filter(action="automation_policy.changed").exists()
    stale = client.patch(url, {"auto_issue": True}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert AutomationPolicy.objects.get(pk=firm["policy"].pk).auto_issue is False


def test_an_override_is_removed_but_the_entity_s_policy_is_not(finance, firm):
    client = as_user(finance)
    override = AutomationPolicy.objects.get(customer=firm["customer"])
    assert client.delete(f"{POLICIES}{override.pk}/").status_code == 204
    assert client.delete(f"{POLICIES}{firm['policy'].pk}/").status_code == 409
    assert list(AutomationPolicy.objects.values_list("pk", flat=True)) == [firm["policy"].pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"legal_entity": "uk", "project": "p1", "invoicing": "hourly"}, "invoicing"),
        ({"legal_entity": "uk", "project": "p1", "invoice_day": 31}, "invoice_day"),
        ({"legal_entity": "uk", "project": "p1", "review_above": "-1"}, "review_above"),
        (
            {"legal_entity": "uk", "project": "p1", "invoicing": "weekly", "invoice_day": 9},
            "invoice_day",
        ),
        ({"legal_entity": "uk", "project": "nope"}, "project"),
        ({"legal_entity": "zz", "project": "p1"}, "legal_entity"),
        ({"legal_entity": "uk", "project": "p1", "autopilot": True}, "autopilot"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, firm, body, field):
    response = as_user(finance).post(POLICIES, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert AutomationPolicy.objects.count() == 2


def test_an_other_entity_s_project_is_refused(finance, firm):
    books(code="de", functional_currency="EUR", name="Acme DE")
    response = as_user(finance).post(POLICIES, {"legal_entity": "de", "project": "p1"},
                                     format="json")  # fmt: skip
    assert response.status_code == 400 and "project" in response.json()["error"]["fields"]


def test_policies_are_for_finance_and_admins(consultant, project_manager, finance, firm):
    url = f"{POLICIES}{firm['policy'].pk}/"
    for user in (consultant, project_manager):
        assert as_user(user).get(POLICIES).status_code == 403
        assert as_user(user).patch(url, {"auto_issue": True}, format="json").status_code == 403
    read_only = as_token(finance, "automation:read")
    assert read_only.patch(url, {"auto_issue": True}, format="json").status_code == 403
    assert as_token(finance, "jobs:write").get(POLICIES).status_code == 403
    assert AutomationPolicy.objects.get(pk=firm["policy"].pk).auto_issue is False
