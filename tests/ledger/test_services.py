import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connections

from ledger import rules
from ledger.models import JournalEntry, RoleMapping
from ledger.selectors import balances_by_role
from ledger.services import (
    journal_post,
    journal_preview,
    journal_reverse,
    period_hard_lock,
    period_soft_lock,
    period_soft_unlock,
    role_remap,
)
from psa.kernel import errors
from tests.ledger.factories import books, manual_entry

EVENT = rules.TimeApproved(amount=D("750.00"), currency="GBP", project_id=1)


def _post(entity, source="w1", date=dt.date(2026, 3, 2), event=EVENT, **kw):
    return journal_post(
        legal_entity=entity, event=event, date=date, source_type="week", source_id=source, **kw
    )


@pytest.mark.django_db
def test_posting_the_same_event_twice_returns_the_first_entry():
    uk = books(code="uk", functional_currency="GBP")
    first = _post(uk)
    assert _post(uk) == first
    assert JournalEntry.objects.count() == 1
    assert first.rule_version == rules.RULES_VERSION


@pytest.mark.django_db
def test_preview_posts_nothing():
    uk = books(code="uk", functional_currency="GBP")
    lines = journal_preview(legal_entity=uk, event=EVENT)
    assert [(ln.role, ln.debit, ln.credit) for ln in lines] == [
        ("unbilled_revenue", D("750.00"), D(0)),
        ("revenue_services", D(0), D("750.00")),
    ]
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_posting_the_same_event_at_once_post_it_once():
    uk = books(code="uk", functional_currency="GBP")
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(_post(uk, source="race").pk)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(set(results)) == 1
    assert JournalEntry.objects.filter(source_id="race").count() == 1


@pytest.mark.django_db
def test_a_locked_period_is_refused_with_a_message_naming_the_date(finance):
    uk = books(code="uk", functional_currency="GBP")
    period_soft_lock(legal_entity=uk, through=dt.date(2026, 3, 31), actor=finance)
    with pytest.raises(errors.ValidationFailed) as caught:
        _post(uk, date=dt.date(2026, 3, 15))
    assert "date" in caught.value.fields
    assert caught.value.code == "period_locked"


@pytest.mark.django_db
def test_reversing_a_locked_period_entry_lands_in_the_open_period(finance):
    uk = books(code="uk", functional_currency="GBP")
    # A manual entry: the one kind a person may reverse (an accrual is undone by its time).
    entry = manual_entry(uk, date=dt.date(2026, 3, 2), amount="750.00", actor=finance)
    period_soft_lock(legal_entity=uk, through=dt.date(2026, 3, 31), actor=finance)
    reversal = journal_reverse(
        entry=entry, date=dt.date(2026, 3, 10), reason="wrong project", actor=finance
    )
    assert reversal.date == dt.date(2026, 4, 1)
    assert reversal.reverses == entry
    balances = balances_by_role(legal_entity=uk, as_of=dt.date(2026, 4, 1))
    assert balances["unbilled_revenue"] == 0
    # The closed period still shows what it showed when it was closed.
    assert balances_by_role(legal_entity=uk, as_of=dt.date(2026, 3, 31))["unbilled_revenue"] == D(
        "750.00"
    )


@pytest.mark.django_db
def test_period_close_permissions(finance, admin_user, consultant):
    uk = books(code="uk", functional_currency="GBP")
    with pytest.raises(errors.PermissionDenied):
        period_soft_lock(legal_entity=uk, through=dt.date(2026, 1, 31), actor=consultant)
    period_soft_lock(legal_entity=uk, through=dt.date(2026, 2, 28), actor=finance)
    # Moving the lock back is lifting it: admins only.
    with pytest.raises(errors.PermissionDenied):
        period_soft_lock(legal_entity=uk, through=dt.date(2026, 1, 31), actor=finance)
    with pytest.raises(errors.PermissionDenied):
        period_soft_unlock(legal_entity=uk, actor=finance)
    with pytest.raises(errors.PermissionDenied):
        period_hard_lock(legal_entity=uk, through=dt.date(2026, 1, 31), actor=finance)
    period_hard_lock(legal_entity=uk, through=dt.date(2026, 1, 31), actor=admin_user)
    period_soft_unlock(legal_entity=uk, actor=admin_user)
    uk.refresh_from_db()
    # The soft lock falls back to the hard lock, which stays for ever.
    assert (uk.soft_lock_date, uk.hard_lock_date) == (dt.date(2026, 1, 31), dt.date(2026, 1, 31))
    with pytest.raises(errors.ValidationFailed, match="never be lifted"):
        period_soft_lock(legal_entity=uk, through=dt.date(2025, 12, 31), actor=admin_user)


@pytest.mark.django_db
def test_finance_can_remap_a_role_to_another_account_of_the_entity(finance, consultant):
    uk = books(code="uk", functional_currency="GBP")
    other = books(code="de", functional_currency="EUR")
    alt = uk.accounts.create(code="4010", name="Consulting revenue", type="income")
    with pytest.raises(errors.PermissionDenied):
        role_remap(legal_entity=uk, role="revenue_services", account=alt, actor=consultant)
    with pytest.raises(errors.ValidationFailed):
        role_remap(
            legal_entity=uk, role="revenue_services", account=other.accounts.first(), actor=finance
        )
    role_remap(legal_entity=uk, role="revenue_services", account=alt, actor=finance)
    entry = _post(uk)
    assert entry.lines.get(credit__gt=0).account == alt
    assert RoleMapping.objects.get(legal_entity=uk, role="revenue_services").account == alt


@pytest.mark.django_db
def test_an_unmapped_role_is_a_clear_error():
    uk = books(code="uk", functional_currency="GBP")
    RoleMapping.objects.filter(legal_entity=uk, role="unbilled_revenue").delete()
    with pytest.raises(errors.ValidationFailed, match="unbilled_revenue"):
        _post(uk)
