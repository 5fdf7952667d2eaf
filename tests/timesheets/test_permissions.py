"""Who sees and changes whose time, read like sentences with the standing personas."""

import datetime as dt
from decimal import Decimal

import pytest

from psa.kernel.errors import PermissionDenied, ValidationFailed
from tests.projects.factories import ProjectFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.selectors import approvals_pending, time_visible_to
from timesheets.services import expense_create, week_copy_previous, week_submit

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)


@pytest.fixture
def entries(consultant, project_manager, project):
    mine = TimeEntryFactory(person=consultant, project=project, status="submitted")
    managers_own = TimeEntryFactory(person=project_manager, project=ProjectFactory())
    elsewhere = TimeEntryFactory(project=ProjectFactory())
    return mine, managers_own, elsewhere


def test_a_consultant_sees_only_their_own_time(consultant, entries):
    assert list(time_visible_to(consultant)) == [entries[0]]


def test_a_manager_sees_their_own_and_their_projects_time(project_manager, entries):
    assert set(time_visible_to(project_manager)) == {entries[0], entries[1]}


def test_finance_sees_all_time(finance, entries):
    assert set(time_visible_to(finance)) == set(entries)


def test_an_outsider_sees_no_time(outsider, entries):
    assert list(time_visible_to(outsider)) == []
    assert approvals_pending(approver=outsider) == []


def test_only_the_manager_of_the_project_gets_the_week_to_approve(
    project_manager, consultant, finance, entries
):
    (week,) = approvals_pending(approver=project_manager)
    assert (week.person, week.week_start, week.entries) == (consultant, MON, [entries[0]])
    assert approvals_pending(approver=consultant) == []
    assert len(approvals_pending(approver=finance)) == 1


def test_nobody_submits_or_copies_someone_elses_week(consultant, project_manager, entries):
    for service in (week_submit, week_copy_previous):
        with pytest.raises(PermissionDenied):
            service(actor=project_manager, person=consultant, week_start=MON)


def test_expenses_are_ones_own_and_on_ones_projects(consultant, project_manager, project):
    kwargs = {
        "project": project,
        "date": MON,
        "amount": "12.50",
        "currency": "GBP",
        "category": "meals",
    }
    with pytest.raises(PermissionDenied):
        expense_create(actor=project_manager, person=consultant, **kwargs)
    with pytest.raises(ValidationFailed) as exc:
        expense_create(
            actor=consultant, person=consultant, **kwargs | {"project": ProjectFactory()}
        )
    assert "project" in exc.value.fields
    assert expense_create(actor=consultant, person=consultant, **kwargs).amount == Decimal("12.50")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-1"),
        ("amount", "abc"),
        ("amount", "1.005"),
        ("currency", "euro"),
        ("category", "yacht"),
        ("markup_percent", "150"),
    ],
)
def test_bad_expense_input_names_the_field(consultant, project, field, value):
    kwargs = {"amount": "10", "currency": "GBP", "category": "meals"} | {field: value}
    with pytest.raises(ValidationFailed) as exc:
        expense_create(actor=consultant, person=consultant, project=project, date=MON, **kwargs)
    assert field in exc.value.fields


def test_a_receipt_over_10_mb_is_refused(consultant, project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(ValidationFailed) as exc:
        expense_create(
            actor=consultant,
            person=consultant,
            project=project,
            date=MON,
            amount="10",
            currency="GBP",
            category="meals",
            receipt=big,
        )
    assert "receipt" in exc.value.fields
