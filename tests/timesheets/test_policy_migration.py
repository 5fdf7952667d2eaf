"""Existing approval policies migrate to overrides of a seeded entity default."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.psa.test_migrations import _migrate

BEFORE = [("timesheets", "0003_updated_at")]


@pytest.fixture
def before(transactional_db):
    old = _migrate(BEFORE)
    yield old
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_project_policies_become_overrides_and_each_entity_gets_its_default(before):
    entity = before.get_model("ledger", "LegalEntity").objects.create(
        code="acme", name="Acme", legal_name="Acme Ltd", country="GB", functional_currency="GBP"
    )
    customer = before.get_model("crm", "Customer").objects.create(
        legal_entity=entity, name="Globex", country="GB", currency="GBP"
    )
    manager = before.get_model("psa", "User").objects.create(email="pm@example.test")
    project = before.get_model("projects", "Project").objects.create(
        code="erp", name="ERP", customer=customer, legal_entity=entity, currency="GBP",
        start_date=dt.date(2026, 1, 1), manager=manager,
    )  # fmt: skip
    Policy = before.get_model("timesheets", "ApprovalPolicy")
    Policy.objects.create(project=project, max_hours_per_day=Decimal(9), allow_weekends=True)
    Policy.objects.create(customer=customer, enabled=False)

    new = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    Policy = new.get_model("timesheets", "ApprovalPolicy")
    default = Policy.objects.get(legal_entity_id=entity.pk)
    # Off until finance turns it on: an existing firm keeps approving only where it had rules.
    assert (default.enabled, default.within_capacity, default.review_first_weeks) == (
        False, True, 0,
    )  # fmt: skip
    kept = Policy.objects.get(project_id=project.pk)
    assert (kept.enabled, kept.max_hours_per_day, kept.allow_weekends) == (True, 9, True)
    assert kept.within_capacity is None and kept.review_first_weeks is None  # inherited
    # A disabled policy counted as absent; it now inherits instead of switching off.
    assert Policy.objects.get(customer_id=customer.pk).enabled is None
