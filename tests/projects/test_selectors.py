from decimal import Decimal

import pytest

from projects.selectors import assigned_to, project_list_visible_to, with_hours
from tests.projects.factories import AssignmentFactory, ProjectFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db


def test_who_sees_which_project(consultant, project_manager, finance, outsider, project):
    other = ProjectFactory()
    assert list(project_list_visible_to(consultant)) == [project]
    assert list(project_list_visible_to(project_manager)) == [project]
    assert set(project_list_visible_to(finance)) == {project, other}
    assert list(project_list_visible_to(outsider)) == []


def test_hour_sums_are_not_multiplied_by_assignments(project_manager, consultant, project):
    # The manager is also on the team: a join on assignments would double every sum.
    AssignmentFactory(project=project, person=project_manager)
    AssignmentFactory(project=project)
    TimeEntryFactory(project=project, person=consultant, hours="6", status="approved")
    TimeEntryFactory(
        project=project, person=consultant, hours="2.5", status="submitted", date="2026-11-17"
    )
    (row,) = with_hours(project_list_visible_to(project_manager))
    assert row.logged_hours == Decimal("8.5")
    assert row.approved_hours == Decimal("6")
    assert list(assigned_to(project_manager)) == [project]
