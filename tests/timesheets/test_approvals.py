"""Approving weeks: by the manager, by finance, and by policy — every decision recorded."""

import datetime as dt

import pytest
from django.utils import timezone

from psa.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from psa.kernel.models import AuditEvent
from tests.projects.factories import AssignmentFactory, ProjectFactory
from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.models import ApprovalPolicy, Holiday, TimeEntry
from timesheets.services import week_approve, week_auto_approve, week_reject

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)
NOW = timezone.now()


def submitted(person, project, *, day=0, hours="8", note="Build"):
    return TimeEntryFactory(
        person=person,
        project=project,
        date=MON + dt.timedelta(days=day),
        hours=hours,
        note=note,
        status="submitted",
    )


OFF = {
    "enabled": False,
    "within_capacity": True,
    "note_required": False,
    "project_must_be_active": True,
    "within_budget": True,
    "allow_weekends": False,
    "allow_holidays": False,
    "review_first_weeks": 0,
}


def statuses():
    return sorted(TimeEntry.objects.values_list("status", flat=True))


def test_the_manager_approves_their_projects_only(project_manager, consultant, project):
    elsewhere = ProjectFactory()
    AssignmentFactory(project=elsewhere, person=consultant)
    mine, theirs = submitted(consultant, project), submitted(consultant, elsewhere, day=1)
    assert week_approve(actor=project_manager, person=consultant, week_start=MON) == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("approved", "submitted")
    assert week_approve(actor=project_manager, person=consultant, week_start=MON) == 0  # again


def test_finance_approves_anywhere(finance, consultant, project):
    submitted(consultant, project)
    submitted(consultant, ProjectFactory(), day=1)
    assert week_approve(actor=finance, person=consultant, week_start=MON) == 2


@pytest.mark.parametrize("who", ["consultant", "outsider"])
def test_people_without_the_role_cannot_approve(request, who, consultant, project):
    submitted(consultant, project)
    with pytest.raises(PermissionDenied):
        week_approve(actor=request.getfixturevalue(who), person=consultant, week_start=MON)
    assert statuses() == ["submitted"]


def test_a_manager_does_not_approve_their_own_time(project_manager, project):
    AssignmentFactory(project=project, person=project_manager)
    submitted(project_manager, project)
    with pytest.raises(PermissionDenied):
        week_approve(actor=project_manager, person=project_manager, week_start=MON)


def test_reject_needs_a_reason_and_leaves_approved_time_alone(project_manager, consultant, project):
    submitted(consultant, project)
    TimeEntryFactory(
        person=consultant, project=project, date=MON + dt.timedelta(1), status="approved"
    )
    with pytest.raises(ValidationFailed) as exc:
        week_reject(actor=project_manager, person=consultant, week_start=MON, reason="")
    assert "reason" in exc.value.fields
    assert (
        week_reject(actor=project_manager, person=consultant, week_start=MON, reason="Wrong task")
        == 1
    )
    assert statuses() == ["approved", "rejected"]
    # Twice is quiet; with nothing submitted or rejected it is a conflict.
    assert week_reject(actor=project_manager, person=consultant, week_start=MON, reason="x") == 0
    with pytest.raises(Conflict):
        week_reject(
            actor=project_manager, person=consultant, week_start=MON + dt.timedelta(7), reason="x"
        )


# --- policy ------------------------------------------------------------------------------


def test_a_week_within_every_rule_approves_itself_once(consultant, project):
    ApprovalPolicyFactory(project=project)
    for day in range(5):
        submitted(consultant, project, day=day)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert (decision.approved, decision.entries, decision.reasons) == (True, 5, [])
    assert statuses() == ["approved"] * 5
    events = AuditEvent.objects.filter(action="time_entry.approved")
    assert {(e.actor_id, e.actor_label) for e in events} == {(None, "policy:auto-approve")}
    assert events.count() == 5
    # Running again (a duplicated beat) decides nothing and records nothing.
    assert week_auto_approve(person=consultant, week_start=MON, now=NOW) == []
    assert AuditEvent.objects.count() == 5


RULE_CASES = [
    # (policy overrides, entries as (day, hours, note), expected reason fragment)
    ({}, [(0, "11", "x")], "Mon 16 Nov: 11 h > 10 h a day"),
    ({"max_hours_per_week": 20}, [(d, "6", "x") for d in range(4)], "week: 24 h > 20 h a week"),
    ({}, [(0, "8", "")], "no note on Mon 16 Nov"),
    ({}, [(5, "4", "x")], "weekend time on Sat 21 Nov"),
    ({}, [(2, "8", "x")], "time on the holiday Founders' Day (Wed 18 Nov)"),
    ({}, [(0, "8", "x"), (1, "8", "x")], "over budget: 16 h logged of 10 h"),
    ({"project_must_be_active": True}, [(0, "8", "x")], "project is on hold, not active"),
]


@pytest.mark.parametrize(("overrides", "entries", "reason"), RULE_CASES)
def test_a_broken_rule_leaves_the_week_for_the_manager(
    consultant, project, overrides, entries, reason
):
    if "over budget" in reason:
        project.budget_hours = 10
    if "on hold" in reason:
        project.status = "on_hold"
    project.save()
    Holiday.objects.create(
        legal_entity=project.legal_entity, date=MON + dt.timedelta(2), name="Founders' Day"
    )
    ApprovalPolicyFactory(project=project, **overrides)
    for day, hours, note in entries:
        submitted(consultant, project, day=day, hours=hours, note=note)

    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved is False
    assert reason in decision.reasons
    assert set(statuses()) == {"submitted"}
    routed = AuditEvent.objects.filter(action="time_entry.policy_routed")
    assert routed.count() == len(entries)
    assert all(reason in e.reason and e.actor_label == "policy:auto-approve" for e in routed)
    week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert routed.count() == len(entries)  # the same decision is recorded once


def test_allowances_let_weekends_and_holidays_through(consultant, project):
    Holiday.objects.create(legal_entity=project.legal_entity, date=MON, name="Bank holiday")
    ApprovalPolicyFactory(project=project, allow_weekends=True, allow_holidays=True)
    submitted(consultant, project, day=0)
    submitted(consultant, project, day=6)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved


def test_the_project_policy_wins_over_the_customer_policy(consultant, project):
    ApprovalPolicy.objects.create(customer=project.customer, max_hours_per_day=4)
    ApprovalPolicyFactory(project=project, max_hours_per_day=9)
    submitted(consultant, project, hours="8")
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved


def test_a_customer_policy_covers_its_projects(consultant, project):
    ApprovalPolicy.objects.create(
        customer=project.customer, max_hours_per_day=4, review_first_weeks=0
    )
    submitted(consultant, project, hours="8")
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["Mon 16 Nov: 8 h > 4 h a day"]


def test_an_entity_default_switched_off_leaves_the_week_to_the_manager_saying_so(
    consultant, project
):
    ApprovalPolicy.objects.create(legal_entity=project.legal_entity, **OFF)
    submitted(consultant, project)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["the approval policy is off (entity)"]
    assert statuses() == ["submitted"]
    (routed,) = AuditEvent.objects.filter(action="time_entry.policy_routed")
    assert "the approval policy is off (entity)" in routed.reason


def test_a_disabled_project_policy_keeps_its_project_with_the_manager(consultant, project):
    ApprovalPolicyFactory(project=project, enabled=False)
    submitted(consultant, project)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert (decision.approved, decision.reasons) == (
        False,
        ["the approval policy is off (project)"],
    )
    assert statuses() == ["submitted"]


def test_the_day_limit_counts_the_whole_day_across_projects(consultant, project):
    ApprovalPolicyFactory(project=project)
    other = ProjectFactory()
    AssignmentFactory(project=other, person=consultant)
    submitted(consultant, project, hours="6")
    TimeEntryFactory(person=consultant, project=other, date=MON, hours="5", status="draft")
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["Mon 16 Nov: 11 h > 10 h a day"]


def test_the_database_wants_exactly_one_scope_per_policy(project):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalPolicy.objects.create(project=project, customer=project.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalPolicy.objects.create()
    assert not ApprovalPolicy.objects.exists()
