"""billing 0007: a database with today's single late fee per level migrates forward with the fee
in the legal entity's functional currency, and back again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.psa.test_migrations import _latest, _migrate

BEFORE = [("billing", "0006_billing_guards")]
AFTER = [("billing", "0007_dunning_late_fee_per_currency")]


@pytest.fixture
def single_fee_schema(transactional_db):
    """The database before per-currency fees; put back to the latest after the test."""
    yield _migrate(BEFORE)
    _migrate(_latest())


def _level(apps, code, currency, fee):
    entity = apps.get_model("ledger", "LegalEntity").objects.create(
        code=code, name=code, legal_name=f"{code} Ltd", country="GB", functional_currency=currency
    )
    return apps.get_model("billing", "DunningLevel").objects.create(
        legal_entity=entity, name="Final", days_from_due=30, subject="s", body="b", late_fee=fee
    )


def test_the_single_late_fee_becomes_the_fee_in_the_functional_currency_and_back(
    single_fee_schema,
):
    old = single_fee_schema
    uk = _level(old, "uk", "GBP", Decimal("12.50"))
    jp = _level(old, "jp", "JPY", Decimal("12.50"))
    free = _level(old, "de", "EUR", Decimal("0"))

    new = _migrate(AFTER)

    fees = new.get_model("billing", "DunningLevelFee").objects.values_list(
        "level_id", "currency", "amount"
    )
    # A JPY entity's 12.50 becomes 13 yen: its currency has no minor unit.
    assert sorted(fees) == sorted([(uk.pk, "GBP", Decimal("12.50")), (jp.pk, "JPY", Decimal("13"))])
    levels = new.get_model("billing", "DunningLevel").objects.all()
    assert {level.late_fee_percent for level in levels} == {Decimal(0)}
    new.get_model("billing", "DunningLevelFee").objects.create(
        level_id=uk.pk, currency="EUR", amount=Decimal("6.00")
    )

    back = _migrate(BEFORE)

    fees = dict(back.get_model("billing", "DunningLevel").objects.values_list("pk", "late_fee"))
    assert fees == {uk.pk: Decimal("12.50"), jp.pk: Decimal("13.00"), free.pk: Decimal("0")}
