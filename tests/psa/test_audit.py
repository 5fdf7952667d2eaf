import pytest
from django.db import IntegrityError

from psa.kernel import correlation
from psa.kernel.audit import audit_history, audit_record
from psa.kernel.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_person_s_action_is_recorded_with_before_after_and_correlation(project, project_manager):
    token = correlation.set_id("req-abc")
    try:
        event = audit_record(
            action="project.budget_changed",
            obj=project,
            actor=project_manager,
            before={"budget_hours": "100"},
            after={"budget_hours": "120"},
            reason="Change request 7",
        )
    finally:
        correlation.reset(token)
    event.refresh_from_db()
    assert event.actor == project_manager
    assert event.object_repr == str(project)
    assert event.after == {"budget_hours": "120"}
    assert event.correlation_id == "req-abc"
    assert list(audit_history(project)) == [event]


def test_an_automated_decision_is_recorded_with_its_label(project):
    event = audit_record(
        action="week.auto_approved", obj=project, actor_label="policy:auto-approve"
    )
    assert event.actor is None
    assert event.actor_label == "policy:auto-approve"


def test_an_event_without_any_actor_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        AuditEvent.objects.create(action="x", actor=None, actor_label="")
