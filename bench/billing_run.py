"""The billing run against a floor measured in the same run.

Usage (services up; a separate database is created and reused):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/psa_bench_billing \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/billing_run.py \
        [--entries 100000] [--projects 2000] [--customers 500] [--pairs 3]

Subject: ``billing_run_execute`` (drafts, no issue) over the approved time.
Floor: PostgreSQL COPY of the very rows the subject wrote (invoices, lines, links) into empty
clones of those tables (same columns, indexes and checks), plus one UPDATE marking the entries
billed. Pairs run floor, subject, floor, subject…, after one discarded warm-up pair; between
runs the output is removed and the entries unfrozen (triggers off for that reset only).
Printed: both medians, the ratio, the subject's SQL statement count and its peak Python memory.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from billing.models import TaxRate  # noqa: E402
from billing.services import billing_run_execute  # noqa: E402
from ledger.models import LegalEntity  # noqa: E402
from ledger.services import books_setup  # noqa: E402

PERIOD_END = dt.date(2026, 10, 31)
OUTPUT_TABLES = ["billing_invoice", "billing_invoiceline", "billing_timeentrybilling"]


def generate(entries: int, projects: int, customers: int) -> LegalEntity:
    entity, _ = LegalEntity.objects.get_or_create(
        code="bench",
        defaults={"name": "Bench Ltd", "legal_name": "Bench Ltd", "country": "GB",
                  "functional_currency": "GBP"},
    )  # fmt: skip
    books_setup(legal_entity=entity)
    TaxRate.objects.get_or_create(
        legal_entity=entity, is_default=True, defaults={"name": "VAT", "rate": Decimal("0.2")}
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM timesheets_timeentry")
        if cur.fetchone()[0] >= entries:
            print(f"reusing {entries:,} entries")
            return entity
        started = time.perf_counter()
        people = 1000
        cur.execute(
            "INSERT INTO psa_user (password, is_superuser, email, first_name, last_name, "
            "is_staff, is_active, date_joined) SELECT '!', false, 'p' || g || '@bench.test', "
            "'P', g::text, false, true, now() FROM generate_series(1, %s) g "
            "ON CONFLICT DO NOTHING",
            [people],
        )
        cur.execute(
            "INSERT INTO crm_customer (legal_entity_id, name, legal_name, billing_address, "
            "country, currency, payment_terms_days, tax_id, tax_treatment, billing_email, "
            "is_active, created_at, updated_at) SELECT %s, 'Customer ' || g, '', '', 'GB', "
            "'GBP', 30, '', 'domestic', '', true, now(), now() FROM generate_series(1, %s) g",
            [entity.pk, customers],
        )
        cur.execute("SELECT min(id) FROM psa_user WHERE email LIKE '%%@bench.test'")
        first_user = cur.fetchone()[0]
        cur.execute("SELECT min(id) FROM crm_customer WHERE legal_entity_id = %s", [entity.pk])
        first_customer = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO projects_project (code, name, customer_id, legal_entity_id, "
            "billing_model, currency, start_date, manager_id, status, allow_all_users, "
            "created_at, updated_at) SELECT 'b' || g, 'Project ' || g, %s + mod(g, %s), %s, "
            "'time_and_materials', 'GBP', '2026-01-01', %s, 'active', true, now(), now() "
            "FROM generate_series(0, %s - 1) g",
            [first_customer, customers, entity.pk, first_user, projects],
        )
        cur.execute("SELECT min(id) FROM projects_project WHERE legal_entity_id = %s", [entity.pk])
        first_project = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO projects_ratecard (level, project_id, role, rate, currency, "
            "effective_from) SELECT 'project', id, '', 80 + mod(id, 90), 'GBP', '2026-01-01' "
            "FROM projects_project WHERE legal_entity_id = %s",
            [entity.pk],
        )
        # Entry g: project g mod P, person g mod 1000, day g div P from 10 Sep: each person
        # logs two entries a day, at most 8 h each, so every day stays believable.
        cur.execute(
            "INSERT INTO timesheets_timeentry (person_id, project_id, date, hours, note, "
            "billable, status, rejection_reason, created_at, updated_at) "
            "SELECT %s + mod(g, %s), %s + mod(g, %s), DATE '2026-09-10' + g / %s, "
            "(1 + mod(g, 16)) * 0.5, 'work', true, 'approved', '', now(), now() "
            "FROM generate_series(0, %s - 1) g",
            [first_user, people, first_project, projects, projects, entries],
        )
        cur.execute("ANALYZE")
    print(f"generated {entries:,} entries in {time.perf_counter() - started:.1f} s")
    return entity


def reset() -> None:
    """Remove the run's output and unfreeze the entries (bench only: triggers off)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("DELETE FROM billing_timeentrybilling")
        cur.execute("DELETE FROM billing_invoiceline")
        cur.execute("DELETE FROM billing_invoice")
        cur.execute("DELETE FROM billing_billingrun")
        cur.execute("DELETE FROM ledger_outboxmessage")
        cur.execute("UPDATE timesheets_timeentry SET billed_at = NULL WHERE billed_at IS NOT NULL")


def snapshot_output() -> dict[str, bytes]:
    """The rows the subject wrote, as COPY data, to replay in the floor."""
    data = {}
    with connection.cursor() as cur:
        for table in OUTPUT_TABLES:
            buf = io.BytesIO()
            with cur.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            data[table] = buf.getvalue()
    return data


def floor(data: dict[str, bytes]) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for table in OUTPUT_TABLES:
            cur.execute(f"CREATE TEMP TABLE f_{table} (LIKE {table} INCLUDING ALL) ON COMMIT DROP")
            with cur.copy(f"COPY f_{table} FROM STDIN") as copy:
                copy.write(data[table])
        cur.execute(
            "UPDATE timesheets_timeentry t SET billed_at = now() FROM f_billing_timeentrybilling l "
            "WHERE t.id = l.time_entry_id"
        )
    elapsed = time.perf_counter() - started
    reset()
    return elapsed


def subject(entity: LegalEntity) -> tuple[float, int, int]:
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        run = billing_run_execute(legal_entity=entity, period_end=PERIOD_END, actor_label="bench")
        elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert run.entries_billed > 0, "nothing was billed"
    subject.last_run = run  # type: ignore[attr-defined]
    return elapsed, len(queries), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    entity = generate(args.entries, args.projects, args.customers)
    reset()
    subject(entity)  # warm-up pair, discarded
    data = snapshot_output()
    reset()
    floor(data)
    floors, subjects, stats = [], [], None
    for _ in range(args.pairs):
        floors.append(floor(data))
        elapsed, statements, peak = subject(entity)
        subjects.append(elapsed)
        stats = (statements, peak)
        reset()
    run = subject.last_run  # type: ignore[attr-defined]
    ratios = [s / f for s, f in zip(subjects, floors, strict=True)]
    print(f"billed {run.entries_billed:,} entries into {run.invoices_created:,} invoices")
    print(f"floor (COPY + UPDATE)   median {statistics.median(floors):7.2f} s")
    print(f"billing run             median {statistics.median(subjects):7.2f} s")
    print(f"ratio                   median {statistics.median(ratios):7.2f}  "
          f"spread {max(ratios) / min(ratios):.2f}")  # fmt: skip
    print(f"SQL statements          {stats[0]}")
    print(f"peak Python memory      {stats[1] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
