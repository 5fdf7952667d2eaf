"""PostgreSQL itself refuses bad books: these tests bypass the ORM with raw SQL.

They run with transaction=True because the balance check is a deferred constraint trigger
that fires at COMMIT.
"""

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import rules
from ledger.models import Account, JournalEntry, JournalLine, LegalEntity
from ledger.services import journal_post
from tests.ledger.factories import books, manual_entry

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def raw_sql():
    """A cursor in its own transaction: deferred triggers fire when the block ends."""
    with transaction.atomic(), connection.cursor() as cur:
        yield cur


def _entry_sql(entity_id, date="2026-03-01", source="raw-1"):
    return (
        "INSERT INTO ledger_journalentry (legal_entity_id, date, memo, event, source_type, "
        "source_id, rule_version, currency, fx_rate, posted_at, actor_label, correlation_id) "
        f"VALUES ({entity_id}, '{date}', '', 'manual', 'raw', '{source}', 'x', 'GBP', 1, now(), "
        "'test', '') RETURNING id"
    )


def _line_sql(entry_id, account_id, debit, credit):
    return (
        "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit, currency, "
        "amount_currency, fx_rate, document, description) "
        f"VALUES ({entry_id}, {account_id}, {debit}, {credit}, 'GBP', {debit - credit}, 1, '', '')"
    )


@pytest.fixture
def uk():
    return books(code="uk", functional_currency="GBP")


def _accounts(entity):
    accounts = Account.objects.filter(legal_entity=entity)
    return accounts.get(code="1000").pk, accounts.get(code="4000").pk


def test_an_unbalanced_entry_is_refused_at_commit(uk):
    bank, revenue = _accounts(uk)
    with pytest.raises(IntegrityError, match="does not balance"), raw_sql() as cur:
        cur.execute(_entry_sql(uk.pk))
        (entry_id,) = cur.fetchone()
        cur.execute(_line_sql(entry_id, bank, D("100.00"), 0))
        cur.execute(_line_sql(entry_id, revenue, 0, D("99.99")))
    assert not JournalEntry.objects.exists()


def test_a_balanced_raw_entry_commits(uk):
    bank, revenue = _accounts(uk)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_entry_sql(uk.pk))
        (entry_id,) = cur.fetchone()
        cur.execute(_line_sql(entry_id, bank, D("100.00"), 0))
        cur.execute(_line_sql(entry_id, revenue, 0, D("100.00")))
    assert JournalLine.objects.filter(entry_id=entry_id).count() == 2


def test_an_entry_without_lines_is_refused(uk):
    with pytest.raises(IntegrityError, match="needs at least two"), raw_sql() as cur:
        cur.execute(_entry_sql(uk.pk))


@pytest.mark.parametrize(("debit", "credit"), [(D("5"), D("5")), (0, 0), (D("-5"), 0)])
def test_a_line_must_have_exactly_one_positive_side(uk, debit, credit):
    bank, _ = _accounts(uk)
    with pytest.raises(IntegrityError, match="journal_line_one_side"), raw_sql() as cur:
        cur.execute(_entry_sql(uk.pk))
        (entry_id,) = cur.fetchone()
        cur.execute(_line_sql(entry_id, bank, debit, credit))


def test_amount_columns_are_numeric_never_float():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'ledger_journalline' AND column_name IN "
            "('debit', 'credit', 'amount_currency', 'fx_rate')"
        )
        types = dict(cur.fetchall())
    assert types == dict.fromkeys(["debit", "credit", "amount_currency", "fx_rate"], "numeric")


def _posted(uk):
    return journal_post(
        legal_entity=uk,
        event=rules.TimeApproved(amount=D("10.00"), currency="GBP"),
        date=dt.date(2026, 3, 2),
        source_type="test",
        source_id="1",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_journalline SET debit = debit + 1 WHERE entry_id = {id}",
        "DELETE FROM ledger_journalline WHERE entry_id = {id}",
        "UPDATE ledger_journalentry SET memo = 'edited' WHERE id = {id}",
        "DELETE FROM ledger_journalentry WHERE id = {id}",
    ],
)
def test_posted_entries_and_lines_cannot_be_changed_or_deleted(uk, statement):
    entry = _posted(uk)
    with pytest.raises(IntegrityError, match="cannot be changed or deleted"), raw_sql() as cur:
        cur.execute(statement.format(id=entry.pk))
    assert JournalLine.objects.filter(entry=entry).count() == 2


def test_a_committed_entry_cannot_grow_a_line(uk):
    entry = _posted(uk)
    bank, revenue = _accounts(uk)
    with pytest.raises(IntegrityError, match="already posted"), raw_sql() as cur:
        cur.execute(_line_sql(entry.pk, bank, D("1.00"), 0))
        cur.execute(_line_sql(entry.pk, revenue, 0, D("1.00")))


def test_a_line_cannot_use_another_entity_s_account(uk):
    other = books(code="de", functional_currency="EUR")
    foreign_bank, _ = _accounts(other)
    with pytest.raises(IntegrityError, match="another legal entity"), raw_sql() as cur:
        cur.execute(_entry_sql(uk.pk))
        (entry_id,) = cur.fetchone()
        cur.execute(_line_sql(entry_id, foreign_bank, D("1.00"), 0))


def test_nothing_can_be_posted_on_or_before_the_lock_date(uk):
    LegalEntity.objects.filter(pk=uk.pk).update(soft_lock_date=dt.date(2026, 2, 28))
    bank, revenue = _accounts(uk)
    for date in ("2026-02-28", "2026-01-10"):
        with pytest.raises(IntegrityError, match="locked through"), raw_sql() as cur:
            cur.execute(_entry_sql(uk.pk, date=date, source=date))
    with transaction.atomic(), connection.cursor() as cur:  # the next day is open
        cur.execute(_entry_sql(uk.pk, date="2026-03-01"))
        (entry_id,) = cur.fetchone()
        cur.execute(_line_sql(entry_id, bank, D("1.00"), 0))
        cur.execute(_line_sql(entry_id, revenue, 0, D("1.00")))


def test_the_hard_lock_can_never_be_lifted_or_moved_back(uk):
    LegalEntity.objects.filter(pk=uk.pk).update(
        soft_lock_date=dt.date(2026, 2, 28), hard_lock_date=dt.date(2026, 1, 31)
    )
    for value in ("NULL", "'2025-12-31'"):
        with pytest.raises(IntegrityError, match="can never be lifted"), raw_sql() as cur:
            cur.execute(
                f"UPDATE ledger_legalentity SET hard_lock_date = {value} WHERE id = {uk.pk}"
            )
    with connection.cursor() as cur:  # forward is fine
        cur.execute(
            f"UPDATE ledger_legalentity SET hard_lock_date = '2026-02-28' WHERE id = {uk.pk}"
        )
    uk.refresh_from_db()
    assert uk.hard_lock_date == dt.date(2026, 2, 28)


def test_the_same_event_cannot_post_twice_even_bypassing_the_service(uk):
    _posted(uk)
    with pytest.raises(IntegrityError, match="journal_entry_event_once"), raw_sql() as cur:
        cur.execute(
            "INSERT INTO ledger_journalentry (legal_entity_id, date, memo, event, source_type, "
            "source_id, rule_version, currency, fx_rate, posted_at, actor_label, "
            f"correlation_id) VALUES ({uk.pk}, '2026-03-05', '', 'time.approved', 'test', '1', "
            "'x', 'GBP', 1, now(), 'test', '')"
        )


def test_a_reversal_is_unique_per_entry(uk):
    from ledger.services import journal_reverse

    entry = manual_entry(uk, date=dt.date(2026, 3, 2), amount="10.00")
    first = journal_reverse(entry=entry, date=dt.date(2026, 3, 3), reason="typo")
    again = journal_reverse(entry=entry, date=dt.date(2026, 3, 4), reason="typo")
    assert first == again
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(
            legal_entity=uk, date=dt.date(2026, 3, 5), event="reversal2", source_type="x",
            source_id="y", rule_version="x", currency="GBP", reverses=entry,
        )  # fmt: skip


def test_a_line_s_entity_and_date_are_always_its_entry_s(uk):
    bank, revenue = _accounts(uk)
    other = books(code="de", functional_currency="EUR")
    with raw_sql() as cur:
        cur.execute(_entry_sql(uk.pk, date="2026-03-09"))
        (entry_id,) = cur.fetchone()
        for account, debit, credit in ((bank, D("3.00"), 0), (revenue, 0, D("3.00"))):
            cur.execute(
                "INSERT INTO ledger_journalline (entry_id, legal_entity_id, date, account_id, "
                "debit, credit, currency, amount_currency, fx_rate, document, description) VALUES "
                f"({entry_id}, {other.pk}, '1999-01-01', {account}, {debit}, {credit}, 'GBP', "
                f"{debit - credit}, 1, '', '')"
            )
    lines = JournalLine.objects.filter(entry_id=entry_id)
    assert {(ln.legal_entity_id, ln.date) for ln in lines} == {(uk.pk, dt.date(2026, 3, 9))}
