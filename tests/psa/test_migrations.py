"""Models that changed app keep their rows: a database of the previous layout, with data in
it, migrates forward intact.

The previous layout is the migration state main had before the floors were split: ``psa`` at
0007 held AutomationPolicy and JobRun, and ``crm.Opportunity`` pointed at its project and its
project template (crm at 0005, projects at 0004).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

PREVIOUS = [
    ("psa", "0007_merge_0006_automation_policies_0006_updated_at"),
    ("automation", None),
    ("crm", "0005_lead_email_upper_index"),
    ("projects", "0004_updated_at"),
]


def _migrate(targets):
    """Migrate the named apps to ``targets`` (which unapplies what depends on their later
    migrations, in any app); the models of every app as the applied migrations leave them."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    applied = [
        node for node in executor.loader.applied_migrations if node in executor.loader.graph.nodes
    ]
    return executor.loader.project_state(applied).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def previous_schema(transactional_db):
    """The database at the previous layout; put back to the latest after the test."""
    old_apps = _migrate(PREVIOUS)
    yield old_apps
    _migrate(_latest())


def test_policies_and_job_runs_move_to_the_automation_app_with_their_rows(previous_schema):
    old = previous_schema
    entity = old.get_model("ledger", "LegalEntity").objects.create(
        code="acme", name="Acme", legal_name="Acme Ltd", country="GB", functional_currency="GBP"
    )
    customer = old.get_model("crm", "Customer").objects.create(
        legal_entity=entity, name="Globex", country="GB", currency="GBP"
    )
    Policy = old.get_model("psa", "AutomationPolicy")
    entity_policy = Policy.objects.create(
        legal_entity=entity,
        auto_approve=True,
        release_milestones=False,
        invoicing="monthly",
        invoice_day=1,
        auto_issue=True,
        review_above=Decimal("5000.00"),
        auto_send=True,
        autopay=True,
        dunning=False,
    )
    Policy.objects.create(legal_entity=entity, customer=customer, auto_send=False)
    started = timezone.now() - dt.timedelta(hours=1)
    old.get_model("psa", "JobRun").objects.create(
        job="billing-calendar", status="partial", started_at=started, processed=3, failed=1,
        errors=[{"item": "billing acme", "error": "IntegrityError: boom", "traceback": ""}],
    )  # fmt: skip
    ContentType = old.get_model("contenttypes", "ContentType")
    policy_type, _ = ContentType.objects.get_or_create(app_label="psa", model="automationpolicy")
    old.get_model("psa", "AuditEvent").objects.create(
        actor_label="system",
        action="automation_policy.changed",
        object_type=policy_type,
        object_id=str(entity_policy.pk),
        after={"auto_issue": True},
    )

    new = _migrate(_latest())

    Policy = new.get_model("automation", "AutomationPolicy")
    assert Policy._meta.db_table == "psa_automationpolicy"
    moved = Policy.objects.get(pk=entity_policy.pk)
    assert (moved.legal_entity_id, moved.invoicing, moved.review_above, moved.dunning) == (
        entity.pk,
        "monthly",
        Decimal("5000.00"),
        False,
    )
    override = Policy.objects.get(customer_id=customer.pk)
    assert (override.auto_send, override.auto_issue) == (False, None)
    run = new.get_model("automation", "JobRun").objects.get()
    assert (run.job, run.status, run.processed, run.failed) == ("billing-calendar", "partial", 3, 1)
    assert run.errors[0]["error"] == "IntegrityError: boom"
    # The audit trail still points at the policy: its content type moved with the model.
    event = new.get_model("psa", "AuditEvent").objects.get()
    ContentType = new.get_model("contenttypes", "ContentType")
    assert ContentType.objects.get(pk=event.object_type_id).app_label == "automation"
    assert not ContentType.objects.filter(app_label="psa", model="automationpolicy").exists()


def test_the_move_is_reversible(previous_schema):
    """Back to the previous layout and forward again: the tables never moved."""
    old = previous_schema
    assert old.get_model("psa", "JobRun")._meta.db_table == "psa_jobrun"
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert {"psa_jobrun", "psa_automationpolicy"} <= set(tables)


def test_an_opportunitys_project_and_template_links_move_to_projects(previous_schema):
    old = previous_schema
    entity = old.get_model("ledger", "LegalEntity").objects.create(
        code="acme", name="Acme", legal_name="Acme Ltd", country="GB", functional_currency="GBP"
    )
    customer = old.get_model("crm", "Customer").objects.create(
        legal_entity=entity, name="Globex", country="GB", currency="GBP"
    )
    manager = old.get_model("psa", "User").objects.create(email="pm@example.test")
    Template = old.get_model("projects", "ProjectTemplate")
    discovery = Template.objects.create(
        code="discovery", name="Discovery", billing_model="fixed_price"
    )
    project = old.get_model("projects", "Project").objects.create(
        code="globex-disc", name="Discovery", customer=customer, legal_entity=entity,
        billing_model="fixed_price", currency="GBP", start_date=dt.date(2026, 11, 2),
        manager=manager,
    )  # fmt: skip
    Opportunity = old.get_model("crm", "Opportunity")
    common = {"legal_entity": entity, "customer": customer, "currency": "GBP"}
    won = Opportunity.objects.create(
        name="Won", stage="won", project_template=discovery, project=project, **common
    )
    planned = Opportunity.objects.create(name="Planned", project_template=discovery, **common)
    bare = Opportunity.objects.create(name="Bare", **common)

    new = _migrate(_latest())

    assert "project_id" not in {f.attname for f in new.get_model("crm", "Opportunity")._meta.fields}
    Project = new.get_model("projects", "Project")
    assert Project.objects.get(pk=project.pk).opportunity_id == won.pk
    plans = dict(
        new.get_model("projects", "OpportunityPlan").objects.values_list("opportunity", "template")
    )
    assert plans == {won.pk: discovery.pk, planned.pk: discovery.pk}
    assert not Project.objects.filter(opportunity_id__in=[planned.pk, bare.pk]).exists()
