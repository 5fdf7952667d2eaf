"""Finance edits the approval policies on a page: the entity's default and the overrides."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from timesheets.models import ApprovalPolicy

pytestmark = pytest.mark.django_db
URL = reverse("timesheets:policies")


def entity_form(code, **changes):
    data = {
        "entity": code,
        f"{code}-enabled": "on",
        f"{code}-within_capacity": "on",
        f"{code}-project_must_be_active": "on",
        f"{code}-within_budget": "on",
        f"{code}-max_hours_per_day": "10",
        f"{code}-max_hours_per_week": "",
        f"{code}-review_first_weeks": "2",
    }
    data.update({f"{code}-{k}": v for k, v in changes.items()})
    return {k: v for k, v in data.items() if v is not None}


def test_the_page_shows_each_entity_with_its_default_and_help(client, finance, project):
    client.force_login(finance)
    page = client.get(URL).content.decode()
    assert project.legal_entity.name in page
    assert "Not saved yet: the built-in default below applies." in page
    assert "A newcomer&#x27;s first weeks always go to the manager." in page


def test_finance_saves_the_entity_default(client, finance, project):
    client.force_login(finance)
    code = project.legal_entity.code
    response = client.post(URL, entity_form(code, allow_weekends="on", review_first_weeks="3"))
    assert response.status_code == 302
    policy = ApprovalPolicy.objects.get(legal_entity=project.legal_entity)
    assert (policy.enabled, policy.allow_weekends, policy.note_required) == (True, True, False)
    assert (policy.review_first_weeks, policy.max_hours_per_day) == (3, D(10))
    assert policy.max_hours_per_week is None

    client.post(URL, entity_form(code, enabled=None))  # the box unticked: off
    policy.refresh_from_db()
    assert policy.enabled is False


def test_bad_input_names_the_field_and_writes_nothing(client, finance, project):
    client.force_login(finance)
    code = project.legal_entity.code
    response = client.post(URL, entity_form(code, review_first_weeks="99"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value is less than or equal to 52." in page
    assert not ApprovalPolicy.objects.exists()


def test_an_override_states_only_what_it_changes(client, finance, project):
    client.force_login(finance)
    response = client.post(
        URL, {"o-project": project.pk, "o-allow_weekends": "on", "o-enabled": ""}
    )
    assert response.status_code == 302
    override = ApprovalPolicy.objects.get(project=project)
    assert override.allow_weekends is True
    assert override.enabled is None and override.review_first_weeks is None
    page = client.get(URL).content.decode()
    assert "Allow weekends: yes" in page

    client.post(URL, {"remove": override.pk})
    assert not ApprovalPolicy.objects.filter(project=project).exists()


def test_an_override_needs_a_customer_or_a_project(client, finance, project):
    client.force_login(finance)
    response = client.post(URL, {"o-allow_weekends": "on"})
    assert response.status_code == 400
    assert "Pick a customer or a project." in response.content.decode()
    assert not ApprovalPolicy.objects.exists()


def test_only_finance_and_admins_edit_policies(client, consultant, project_manager, admin_user):
    for person in (consultant, project_manager):
        client.force_login(person)
        assert client.get(URL).status_code == 403
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200
