"""Project templates over the API: list, read, create with tasks, milestones and rates."""

from decimal import Decimal as D

import pytest

from projects.models import ProjectTemplate, ServiceItem
from tests.api.conftest import as_token, as_user
from tests.projects.factories import ProjectTemplateFactory

pytestmark = pytest.mark.django_db
TEMPLATES = "/api/v1/project-templates/"
BODY = {
    "code": "audit",
    "name": "Security audit",
    "billing_model": "fixed_price",
    "duration_days": 30,
    "tasks": [{"name": "Scoping"}, {"name": "Report", "billable": False}],
    "milestones": [{"name": "Kick-off", "amount": "1000.00", "day_offset": 0,
                    "service_item": "consulting"}],
    "rates": [{"rate": "120.00"}, {"role": "Lead", "rate": "150.00"}],
}  # fmt: skip


@pytest.fixture
def item(db):
    return ServiceItem.objects.create(code="consulting", name="Consulting")


def test_list_and_read(consultant):
    ProjectTemplateFactory(code="std", name="Standard")
    ProjectTemplateFactory(code="old", name="Old", active=False)
    client = as_user(consultant)
    active = client.get(TEMPLATES, {"active": "true"}).json()["results"]
    assert [t["code"] for t in active] == ["std"]
    assert client.get(f"{TEMPLATES}std/").json()["name"] == "Standard"
    assert client.get(f"{TEMPLATES}nope/").status_code == 404
    assert client.get(TEMPLATES, {"ordering": "budget"}).status_code == 400


def test_a_manager_creates_a_template_with_its_plan(project_manager, item):
    response = as_token(project_manager, "projects:write").post(TEMPLATES, BODY, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [t["name"] for t in body["tasks"]] == ["Scoping", "Report"]
    assert body["milestones"][0]["service_item"] == "consulting"
    template = ProjectTemplate.objects.get(code="audit")
    assert {r.role: r.rate for r in template.rates.all()} == {"": D("120.00"), "Lead": D("150")}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code": "std"}, "code"),
        ({"name": ""}, "name"),
        ({"billing_model": "barter"}, "billing_model"),
        ({"tasks": [{"name": "A"}, {"name": "A"}]}, "tasks[1].name"),
        ({"rates": [{"rate": "1"}, {"rate": "2"}]}, "rates[1].role"),
        ({"milestones": [{"name": "M", "amount": "-1", "day_offset": 0}]}, "milestones[0].amount"),
        (
            {"milestones": [{"name": "M", "amount": "1", "day_offset": 0, "service_item": "zz"}]},
            "milestones[0].service_item",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, item, change, field):
    ProjectTemplateFactory(code="std")
    response = as_user(finance).post(TEMPLATES, {**BODY, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert ProjectTemplate.objects.count() == 1


def test_consultants_read_but_do_not_create(consultant, project_manager, item):
    assert as_user(consultant).post(TEMPLATES, BODY, format="json").status_code == 403
    read_only = as_token(project_manager, "projects:read")
    assert read_only.post(TEMPLATES, BODY, format="json").status_code == 403
    assert not ProjectTemplate.objects.exists()
