"""The project list and project page, with money aggregated in SQL at the resolved rates."""

import datetime as dt
from decimal import Decimal

import pytest

from projects.models import RateLevel
from projects.selectors import project_burn, project_figures
from tests.projects.factories import MilestoneFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)


@pytest.fixture
def priced(project, consultant, project_manager):
    """Apollo at 100/h, the consultant at 150/h from Wednesday of the week."""
    project.budget_hours = Decimal("40")
    project.budget_amount = Decimal("5000")
    project.save()
    RateCardFactory(project=project, rate="100")
    RateCardFactory(
        project=project,
        level=RateLevel.PERSON_ON_PROJECT,
        person=consultant,
        rate="150",
        effective_from=MON + dt.timedelta(2),
    )
    entries = [
        ("8", 0, "approved", True),  # 8 h at 100
        ("8", 2, "approved", True),  # 8 h at 150 (the new rate)
        ("4", 3, "submitted", True),  # 4 h at 150
        ("2", 4, "approved", False),  # not billable
        ("5", 1, "rejected", True),  # rejected: does not count
    ]
    for hours, day, status, billable in entries:
        TimeEntryFactory(
            person=consultant,
            project=project,
            date=MON + dt.timedelta(day),
            hours=hours,
            status=status,
            billable=billable,
            rejection_reason="x" if status == "rejected" else "",
        )
    TimeEntryFactory(person=consultant, project=project, date=MON + dt.timedelta(7), hours="3")
    return project


def test_figures_price_each_entry_at_its_own_rate(priced):
    f = project_figures(priced)
    assert f["logged_hours"] == Decimal("25")  # 8 + 8 + 4 + 2 + 3
    assert f["approved_hours"] == Decimal("18")
    assert f["billable_value"] == Decimal("800") + Decimal("1200") + Decimal("600") + 450
    assert f["unbilled_value"] == Decimal("2000")  # approved and billable only
    assert f["unpriced_hours"] == 0
    assert f["hours_used_pct"] == 62
    assert f["money_used_pct"] == 61


def test_hours_without_a_rate_are_called_out(project, consultant):
    TimeEntryFactory(person=consultant, project=project, date=MON, hours="3")
    assert project_figures(project)["unpriced_hours"] == Decimal("3")


def test_the_burn_line_is_cumulative_by_week(priced):
    burn = project_burn(priced)
    assert [p["hours"] for p in burn["points"]] == [Decimal("22"), Decimal("25")]
    assert burn["budget"] == Decimal("40") and not burn["over"]
    assert burn["path"].startswith("M36")


def test_the_project_page_for_its_manager(client, project_manager, priced):
    MilestoneFactory(project=priced, name="Go-live", amount="3000")
    client.force_login(project_manager)
    page = client.get("/projects/apollo/").content.decode()
    assert "Apollo" in page
    assert "3,050.00 GBP" in page  # billable value
    assert "2,000.00 GBP" in page  # unbilled
    assert "<svg" in page and "budget 40 h" in page
    assert "Go-live" in page
    assert "Cora" in page  # the team


def test_a_consultant_sees_their_project_without_money(client, consultant, priced):
    client.force_login(consultant)
    page = client.get("/projects/apollo/").content.decode()
    assert "Apollo" in page
    assert "Billable value" not in page
    assert "Rates on this project" not in page
    assert client.get("/projects/").status_code == 200


def test_who_sees_which_project_page(client, consultant, finance, outsider, project):
    other = ProjectFactory(code="hidden")
    client.force_login(consultant)
    assert client.get(f"/projects/{other.code}/").status_code == 404
    assert "HIDDEN" not in client.get("/projects/").content.decode()
    client.force_login(finance)
    assert client.get(f"/projects/{other.code}/").status_code == 200
    assert "HIDDEN" in client.get("/projects/").content.decode()
    client.force_login(outsider)
    assert client.get("/projects/").status_code == 403
    assert client.get("/projects/apollo/").status_code == 403


def test_the_manager_marks_a_milestone_reached(client, project_manager, consultant, project):
    milestone = MilestoneFactory(project=project, name="Go-live")
    url = f"/projects/apollo/milestones/{milestone.pk}/reach/"
    client.force_login(consultant)
    assert client.post(url).status_code == 403
    client.force_login(project_manager)
    page = client.get("/projects/apollo/").content.decode()
    assert "Mark reached" in page
    response = client.post(url, follow=True)
    assert "Go-live reached." in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.status == "reached"
    other = MilestoneFactory()  # on a project this manager cannot see
    assert client.post(f"/projects/apollo/milestones/{other.pk}/reach/").status_code == 404
