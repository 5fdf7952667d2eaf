"""The legal entity's default approval policy: time approves itself everywhere its rules hold,
customers and projects override it rule by rule, and every stop says which rule, with figures."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from projects.models import Task
from psa.kernel.models import AuditEvent
from tests.projects.factories import ProjectFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import ApprovalPolicy, Holiday, TimeEntry
from timesheets.selectors import ENTITY_DEFAULTS, approval_policy_resolve
from timesheets.services import week_auto_approve

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)
NOW = timezone.now()


def submitted(person, project, *, day=0, hours="8", note="Build", task=None):
    return TimeEntryFactory(
        person=person,
        project=project,
        task=task,
        date=MON + dt.timedelta(days=day),
        hours=hours,
        note=note,
        status="submitted",
    )


def no_newcomer(person):
    """An approved week months ago on another project: the person's first weeks are past."""
    TimeEntryFactory(
        person=person, project=ProjectFactory(), date=dt.date(2026, 6, 1), status="approved"
    )


def week_statuses(person):
    return sorted(
        TimeEntry.objects.filter(person=person, date__gte=MON).values_list("status", flat=True)
    )


def test_a_week_within_every_rule_approves_itself_on_a_project_without_a_policy(
    consultant, project
):
    no_newcomer(consultant)
    for day in range(5):
        submitted(consultant, project, day=day)
    assert not ApprovalPolicy.objects.exists()  # no project, customer or entity row at all

    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)

    assert (decision.approved, decision.entries, decision.reasons) == (True, 5, [])
    assert week_statuses(consultant) == ["approved"] * 5


def test_the_saved_entity_default_is_the_one_that_decides(consultant, project):
    ApprovalPolicy.objects.create(
        legal_entity=project.legal_entity, **(ENTITY_DEFAULTS | {"review_first_weeks": 0})
    )
    submitted(consultant, project)  # the person's very first week, reviewed by default
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved


def _capacity(consultant, project, task):
    consultant.weekly_capacity_hours = D(40)
    consultant.save()
    return [{"day": d, "hours": "8.5"} for d in range(5)]


def _part_time(consultant, project, task):
    consultant.weekly_capacity_hours = D(30)
    consultant.save()
    return [{"day": d, "hours": "8"} for d in range(4)]


def _budget(consultant, project, task):
    project.budget_hours = D(10)
    project.save()
    return [{"day": 0}, {"day": 1}]


def _on_hold(consultant, project, task):
    project.status = "on_hold"
    project.save()
    return [{"day": 0}]


RULES = [
    # (set-up returning the entries, reason with its figures, newcomer)
    (_capacity, "42.5 h in the week > capacity 40 h", False),
    (_part_time, "32 h in the week > capacity 30 h", False),
    (lambda c, p, t: [{"day": 0, "hours": "11"}], "Mon 16 Nov: 11 h > 10 h a day", False),
    (lambda c, p, t: [{"day": 5, "hours": "4"}], "weekend time on Sat 21 Nov", False),
    (lambda c, p, t: [{"day": 2}], "time on the holiday Founders' Day (Wed 18 Nov)", False),
    (_budget, "over budget: 16 h logged of 10 h", False),
    (_on_hold, "project is on hold, not active", False),
    (lambda c, p, t: [{"day": 1, "note": "", "task": t}], "no note on Tue 17 Nov", False),
    (lambda c, p, t: [{"day": 0}], "week 1 of", True),
]


@pytest.mark.parametrize(("setup", "reason", "newcomer"), RULES)
def test_each_rule_of_the_entity_default_stops_the_week_and_says_why(
    consultant, project, setup, reason, newcomer
):
    if not newcomer:
        no_newcomer(consultant)
    Holiday.objects.create(
        legal_entity=project.legal_entity, date=MON + dt.timedelta(2), name="Founders' Day"
    )
    task = Task.objects.create(project=project, name="Audit", note_required=True)
    for entry in setup(consultant, project, task):
        submitted(consultant, project, **entry)

    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)

    assert decision.approved is False
    assert [r for r in decision.reasons if reason in r], decision.reasons
    assert set(week_statuses(consultant)) == {"submitted"}
    routed = AuditEvent.objects.filter(action="time_entry.policy_routed")
    assert routed.exists()
    assert all(reason in e.reason for e in routed)


def test_a_note_is_needed_only_on_tasks_flagged_so_by_default(consultant, project):
    no_newcomer(consultant)
    plain = Task.objects.create(project=project, name="Build")
    submitted(consultant, project, note="", task=plain)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved


def test_the_first_weeks_rule_names_the_week_and_lets_the_third_through(consultant, project):
    TimeEntryFactory(
        person=consultant, project=project, date=MON - dt.timedelta(weeks=2), status="approved"
    )
    submitted(consultant, project)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved  # week 3 of the person's time: past the first 2

    TimeEntry.objects.filter(status="approved", date__lt=MON).update(
        date=MON - dt.timedelta(weeks=1)
    )
    second = submitted(consultant, project, day=1)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == [f"week 2 of {consultant}'s first 2 weeks: reviewed by a person"]
    second.refresh_from_db()
    assert second.status == "submitted"


def test_a_project_override_wins_for_the_rules_it_states_and_inherits_the_rest(consultant, project):
    no_newcomer(consultant)
    ApprovalPolicy.objects.create(legal_entity=project.legal_entity, **ENTITY_DEFAULTS)
    ApprovalPolicy.objects.create(project=project, allow_weekends=True)
    submitted(consultant, project, day=5, hours="6")  # Saturday: this project allows it
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.approved

    other = ProjectFactory(customer=project.customer)
    submitted(consultant, other, day=6, hours="2")  # Sunday on a project without the override
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["weekend time on Sun 22 Nov"]


def test_project_then_customer_then_entity_rule_by_rule(consultant, project):
    no_newcomer(consultant)
    ApprovalPolicy.objects.create(
        legal_entity=project.legal_entity, **(ENTITY_DEFAULTS | {"max_hours_per_day": D(12)})
    )
    ApprovalPolicy.objects.create(customer=project.customer, max_hours_per_day=D(4))
    ApprovalPolicy.objects.create(project=project, allow_weekends=True)
    policy = approval_policy_resolve(project)
    assert (policy.allow_weekends, policy.sources["allow_weekends"]) == (True, "project")
    assert (policy.max_hours_per_day, policy.sources["max_hours_per_day"]) == (4, "customer")
    assert policy.sources["within_capacity"] == "entity"

    submitted(consultant, project, day=5, hours="6")
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["Sat 21 Nov: 6 h > 4 h a day"]


def test_an_override_can_switch_auto_approval_off_for_one_customer(consultant, project):
    no_newcomer(consultant)
    ApprovalPolicy.objects.create(customer=project.customer, enabled=False)
    submitted(consultant, project)
    (decision,) = week_auto_approve(person=consultant, week_start=MON, now=NOW)
    assert decision.reasons == ["the approval policy is off (customer)"]
