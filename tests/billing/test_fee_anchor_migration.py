"""billing 0008: fees that exist keep their periods from the start date ("anniversary"); a fee
created after it defaults to calendar periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.psa.test_migrations import _latest, _migrate

BEFORE = [("billing", "0007_dunning_late_fee_per_currency")]
AFTER = [("billing", "0008_recurring_fee_period_anchor")]


@pytest.fixture
def before_anchor(transactional_db):
    yield _migrate(BEFORE)
    _migrate(_latest())


def test_existing_fees_keep_the_anniversary_anchor_and_new_ones_default_to_calendar(
    before_anchor,
):
    old = before_anchor
    entity = old.get_model("ledger", "LegalEntity").objects.create(
        code="acme", name="Acme", legal_name="Acme Ltd", country="GB", functional_currency="GBP"
    )
    customer = old.get_model("crm", "Customer").objects.create(
        legal_entity=entity, name="Globex", country="GB", currency="GBP"
    )
    manager = old.get_model("psa", "User").objects.create(email="pm@example.test")
    project = old.get_model("projects", "Project").objects.create(
        code="globex-sup", name="Support", customer=customer, legal_entity=entity,
        billing_model="retainer", currency="GBP", start_date=dt.date(2026, 12, 11),
        manager=manager,
    )  # fmt: skip
    common = {"project_id": project.pk, "description": "Support", "unit_price": Decimal(100),
              "start_date": dt.date(2026, 12, 11)}  # fmt: skip
    existing = old.get_model("billing", "RecurringFee").objects.create(
        kind="subscription", **common
    )

    new = _migrate(AFTER)

    Fee = new.get_model("billing", "RecurringFee")
    assert Fee.objects.get(pk=existing.pk).period_anchor == "anniversary"
    assert Fee.objects.create(kind="subscription", **common).period_anchor == "calendar_month"
