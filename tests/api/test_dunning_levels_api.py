"""Dunning levels over the API: list, create with per-currency late fees, change with
If-Match, delete (refused once reminders were sent at the level)."""

from decimal import Decimal as D

import pytest

from billing.models import DunningLevel, DunningLevelFee, DunningReminder, Invoice
from tests.api.conftest import as_token, as_user
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db
LEVELS = "/api/v1/billing/dunning-levels/"
BODY = {"legal_entity": "uk", "name": "Overdue 30", "days_from_due": 30,
        "subject": "Invoice {{ invoice.number }}", "body": "Please pay {{ amount_due }}.",
        "late_fee_percent": "2.00", "late_fees": {"GBP": "5.00", "JPY": "800"}}  # fmt: skip


@pytest.fixture
def uk(db):
    return books(code="uk", functional_currency="GBP", name="Acme UK")


def test_list_by_entity_and_day(finance, uk):
    response = as_user(finance).get(LEVELS, {"legal_entity": "uk", "ordering": "days_from_due"})
    assert response.status_code == 200
    days = [r["days_from_due"] for r in response.json()["results"]]
    assert (
        days == sorted(days) and len(days) == DunningLevel.objects.filter(legal_entity=uk).count()
    )
    assert as_user(finance).get(LEVELS, {"ordering": "subject"}).status_code == 400


def test_create_with_late_fees_per_currency(finance, uk):
    response = as_token(finance, "billing:write").post(LEVELS, BODY, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["late_fees"] == {"GBP": "5.000", "JPY": "800.000"}
    level = DunningLevel.objects.get(legal_entity=uk, days_from_due=30)
    assert {f.currency: f.amount for f in level.fees.all()} == {"GBP": D("5"), "JPY": D("800")}


def test_patch_changes_only_what_is_sent_and_a_stale_etag_is_412(finance, uk):
    level = DunningLevel.objects.filter(legal_entity=uk).first()
    DunningLevelFee.objects.create(level=level, currency="GBP", amount=D("5"))
    client = as_user(finance)
    etag = client.get(f"{LEVELS}{level.pk}/")["ETag"]
    changed = client.patch(f"{LEVELS}{level.pk}/", {"name": "Gentle", "late_fees": {"GBP": None}},
                           format="json", HTTP_IF_MATCH=etag)  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Gentle" and changed.json()["late_fees"] == {}
    assert changed.json()["days_from_due"] == level.days_from_due
    stale = client.patch(f"{LEVELS}{level.pk}/", {"name": "Again"}, format="json",
                         HTTP_IF_MATCH=etag)  # fmt: skip
    assert stale.status_code == 412
    assert DunningLevel.objects.get(pk=level.pk).name == "Gentle"


def test_delete_an_unused_level_and_refuse_a_used_one(finance, world):
    client = as_user(finance)
    levels = list(DunningLevel.objects.filter(legal_entity=world["entity"]))
    DunningReminder.objects.create(invoice=Invoice.objects.first(), level=levels[0])
    refused = client.delete(f"{LEVELS}{levels[0].pk}/")
    assert refused.status_code == 409 and "is_active" in refused.json()["error"]["fields"]
    assert client.delete(f"{LEVELS}{levels[1].pk}/").status_code == 204
    assert not DunningLevel.objects.filter(pk=levels[1].pk).exists()
    assert DunningLevel.objects.filter(pk=levels[0].pk).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days_from_due": 0}, "days_from_due"),  # the default "due today" level's day
        ({"days_from_due": "soon"}, "days_from_due"),
        ({"subject": "{% if %}"}, "subject"),
        ({"name": ""}, "name"),
        ({"late_fee_percent": "101"}, "late_fee_percent"),
        ({"late_fees": {"XXQ": "1"}}, "late_fee_XXQ"),
        ({"late_fees": {"JPY": "1.5"}}, "late_fee_JPY"),
        ({"legal_entity": "zz"}, "legal_entity"),
        ({"tone": "stern"}, "tone"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, uk, change, field):
    before = DunningLevel.objects.count()
    response = as_user(finance).post(LEVELS, {**BODY, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert DunningLevel.objects.count() == before


def test_dunning_levels_are_for_finance(consultant, project_manager, finance, uk):
    before = DunningLevel.objects.count()
    for user in (consultant, project_manager):
        assert as_user(user).get(LEVELS).status_code == 403
        assert as_user(user).post(LEVELS, BODY, format="json").status_code == 403
    assert as_token(finance, "billing:read").post(LEVELS, BODY, format="json").status_code == 403
    assert DunningLevel.objects.count() == before
