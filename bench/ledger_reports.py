"""Trial balance and AR aging over 1,000,000 journal lines.

Usage (the services must be up; a separate database is created and reused):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/psa_bench REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/ledger_reports.py [--lines 1000000] [--runs 7]

The books are generated in SQL (invoices with tax, payments of 90 % of them, approved time),
with the ledger triggers switched off for the load only (session_replication_role = replica;
the data is balanced by construction and checked afterwards). Then each report runs through
its selector, one discarded warm-up and ``--runs`` measured runs; the median and spread are
printed with the SQL statement count, next to a floor: the bare aggregate SQL the trial balance
needs, timed the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from ledger.models import JournalLine, LegalEntity  # noqa: E402
from ledger.selectors import ar_aging, trial_balance  # noqa: E402
from ledger.services import books_setup  # noqa: E402

AS_OF = dt.date(2026, 12, 31)


def generate(lines: int) -> LegalEntity:
    entity, _ = LegalEntity.objects.get_or_create(
        code="bench",
        defaults={"name": "Bench Ltd", "legal_name": "Bench Ltd", "country": "GB",
                  "functional_currency": "GBP"},
    )  # fmt: skip
    books_setup(legal_entity=entity)
    have = JournalLine.objects.filter(entry__legal_entity=entity).count()
    if have >= lines * 0.99:  # generated in whole invoices, so a few short of the round number
        print(f"reusing {have:,} lines")
        return entity
    acct = dict(entity.role_mappings.values_list("role", "account_id"))
    # Per invoice: 3 lines; 90 % paid: 2 lines; one time approval: 2 lines  => ~6.8 lines.
    invoices = int(lines / 6.8)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            """
            CREATE TEMP TABLE inv ON COMMIT DROP AS
            SELECT g AS n,
                   DATE '2024-01-01' + mod(g, 1090) AS day,
                   round((100 + mod(g * 7919, 9900))::numeric, 2) AS net,
                   mod(g, 500) + 1 AS customer,
                   mod(g, 2000) + 1 AS project
              FROM generate_series(1, %s) g
            """,
            [invoices],
        )
        common = ("legal_entity_id, date, memo, event, source_type, source_id, rule_version, "
                  "currency, fx_rate, posted_at, actor_label, correlation_id")  # fmt: skip
        for event, source, where, days in [
            ("time.approved", "bench-time", "TRUE", -5),
            ("invoice.issued", "bench-invoice", "TRUE", 0),
            ("payment.received", "bench-payment", "mod(n, 10) <> 0", 25),
        ]:
            cur.execute(
                f"INSERT INTO ledger_journalentry ({common}) SELECT %s, day + %s, '', %s, %s, "
                f"n::text, 'bench', 'GBP', 1, now(), 'bench', '' FROM inv WHERE {where}",
                [entity.pk, days, event, source],
            )
        line_cols = ("entry_id, legal_entity_id, date, account_id, debit, credit, currency, "
                     "amount_currency, fx_rate, customer_id, project_id, document, due_date, "
                     "description")  # fmt: skip

        def lines_sql(source, account, debit, credit, signed, due="NULL"):
            return (
                f"INSERT INTO ledger_journalline ({line_cols}) SELECT e.id, e.legal_entity_id, "
                f"e.date, {account}, {debit}, {credit}, 'GBP', {signed}, 1, inv.customer, "
                f"inv.project, 'invoice:' || inv.n, "
                f"{due}, '' FROM ledger_journalentry e JOIN inv ON inv.n::text = e.source_id "
                f"WHERE e.source_type = '{source}' AND e.legal_entity_id = {entity.pk}"
            )

        gross = "round(inv.net * 1.2, 2)"
        tax = f"({gross} - inv.net)"
        for sql in [
            lines_sql("bench-time", acct["unbilled_revenue"], "inv.net", 0, "inv.net"),
            lines_sql("bench-time", acct["revenue_services"], 0, "inv.net", "-inv.net"),
            lines_sql("bench-invoice", acct["accounts_receivable"], gross, 0, gross,
                      due="inv.day + 30"),
            lines_sql("bench-invoice", acct["unbilled_revenue"], 0, "inv.net", "-inv.net"),
            lines_sql("bench-invoice", acct["tax_payable"], 0, tax, f"-{tax}"),
            lines_sql("bench-payment", acct["bank"], gross, 0, gross),
            lines_sql("bench-payment", acct["accounts_receivable"], 0, gross, f"-{gross}"),
        ]:  # fmt: skip
            cur.execute(sql)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE ledger_journalentry")
        cur.execute("VACUUM ANALYZE ledger_journalline")
    total = JournalLine.objects.filter(entry__legal_entity=entity).count()
    print(f"generated {total:,} lines in {time.perf_counter() - started:.1f} s")
    return entity


def measure(label: str, fn, runs: int) -> float:
    fn()  # warm-up, discarded
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"{label:<34} median {median * 1000:8.1f} ms   spread {max(times) / min(times):.2f}   "
        f"statements {len(queries)}   rows {len(result) if hasattr(result, '__len__') else '-'}"
    )
    return median


def floor_trial_balance(entity: LegalEntity):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT account_id, sum(debit), sum(credit) FROM ledger_journalline "
            "WHERE legal_entity_id = %s AND date <= %s GROUP BY account_id",
            [entity.pk, AS_OF],
        )
        return cur.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    entity = generate(args.lines)
    rows = trial_balance(legal_entity=entity, as_of=AS_OF)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows), "books do not balance"
    tb = measure(
        "trial balance (selector)",
        lambda: trial_balance(legal_entity=entity, as_of=AS_OF),
        args.runs,
    )
    fl = measure("trial balance floor (bare SQL)", lambda: floor_trial_balance(entity), args.runs)
    measure("AR aging (selector)", lambda: ar_aging(legal_entity=entity, as_of=AS_OF), args.runs)
    print(f"trial balance / floor ratio: {tb / fl:.2f}")


if __name__ == "__main__":
    main()
