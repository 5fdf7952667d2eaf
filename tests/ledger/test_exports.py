"""Exports: beancount passes bean-check and hledger passes `hledger check`, with balance
assertions equal to our own trial balance under a zero tolerance."""

import csv
import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal as D

import pytest

from ledger import rules
from ledger.exports import export
from ledger.selectors import trial_balance
from ledger.services import journal_post
from psa.kernel.money import round_money
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db


@pytest.fixture
def uk():
    """Two months of believable books for a GBP entity, one EUR customer among them."""
    entity = books(code="uk", functional_currency="GBP", legal_name="Acme Consulting Ltd")

    def post(event, source, date):
        journal_post(legal_entity=entity, event=event, date=date, source_type="t", source_id=source)

    gbp = {"currency": "GBP", "customer_id": 1, "project_id": 10}
    post(rules.TimeApproved(amount=D("4500.00"), **gbp), "w1", dt.date(2026, 1, 9))
    part = rules.InvoicePart(kind="time", net=D("4500.00"), tax=D("900.00"), accrued=D("4500.00"))
    post(
        rules.InvoiceIssued(parts=(part,), document="invoice:1", **gbp), "i1", dt.date(2026, 1, 31)
    )
    post(
        rules.PaymentReceived(
            amount=D("5400.00"), fee=D("156.90"), via="stripe", document="invoice:1", **gbp
        ),
        "p1",
        dt.date(2026, 2, 10),
    )
    post(rules.PayoutPaid(amount=D("5243.10"), currency="GBP"), "po1", dt.date(2026, 2, 12))
    eur = {"currency": "EUR", "customer_id": 2, "fx_rate": D("0.8567")}
    part = rules.InvoicePart(kind="services", net=D("1234.57"))
    post(
        rules.InvoiceIssued(parts=(part,), document="invoice:2", **eur), "i2", dt.date(2026, 2, 20)
    )
    return entity


def _closing_nets(entity, end):
    return {r.code: r.debit - r.credit for r in trial_balance(legal_entity=entity, as_of=end)}


def _bean_check(path):
    return subprocess.run(
        [shutil.which("bean-check") or ".venv/bin/bean-check", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _hledger_check(path):
    hledger = shutil.which("hledger")
    assert hledger, "Debian's hledger is required (apt-get install hledger)"
    return subprocess.run(
        [hledger, "-f", str(path), "check", "--strict"], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(2026, 1, 1), dt.date(2026, 2, 28)), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))],
)
def test_beancount_export_passes_bean_check_with_our_trial_balance(uk, tmp_path, start, end):
    text = export("beancount", legal_entity=uk, start=start, end=end)
    path = tmp_path / "books.beancount"
    path.write_text(text)
    result = _bean_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The assertions are our own closing balances, one per account with a balance.
    nets = {code: net for code, net in _closing_nets(uk, end).items() if net}
    asserted = [line for line in text.splitlines() if " balance " in line]
    assert len(asserted) == len(nets)
    for code, net in nets.items():
        pence = round_money(net, "GBP")  # the column holds 3 decimals; GBP is shown with 2
        assert any(f":A{code}-" in line and f" {pence} GBP" in line for line in asserted), code


def test_bean_check_catches_a_one_cent_difference(uk, tmp_path):
    text = export("beancount", legal_entity=uk, start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
    tampered = text.replace("5243.10 GBP", "5243.11 GBP", 1)
    assert tampered != text
    path = tmp_path / "bad.beancount"
    path.write_text(tampered)
    assert _bean_check(path).returncode != 0


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(2026, 1, 1), dt.date(2026, 2, 28)), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))],
)
def test_hledger_export_passes_hledger_check(uk, tmp_path, start, end):
    path = tmp_path / "books.journal"
    path.write_text(export("hledger", legal_entity=uk, start=start, end=end))
    result = _hledger_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hledger_catches_a_wrong_balance_assertion(uk, tmp_path):
    text = export("hledger", legal_entity=uk, start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
    path = tmp_path / "bad.journal"
    path.write_text(text.replace("= 5243.10 GBP", "= 5243.11 GBP"))
    assert _hledger_check(path).returncode != 0


def test_csv_and_xero_exports_balance_and_carry_every_line(uk):
    start, end = dt.date(2026, 1, 1), dt.date(2026, 2, 28)
    rows = list(csv.DictReader(io.StringIO(export("csv", legal_entity=uk, start=start, end=end))))
    assert sum(D(r["debit"]) for r in rows) == sum(D(r["credit"]) for r in rows) > 0
    xero = list(csv.DictReader(io.StringIO(export("xero", legal_entity=uk, start=start, end=end))))
    assert len(xero) == len(rows)
    assert sum(D(r["*Amount"]) for r in xero) == 0
    assert xero[0]["*Date"] == "09/01/2026"


def test_iif_export_has_one_balanced_transaction_per_entry(uk):
    text = export("iif", legal_entity=uk, start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
    blocks = text.split("ENDTRNS\n")[1:-1]
    assert len(blocks) == 5
    for block in blocks:
        amounts = [D(line.split("\t")[5]) for line in block.strip().splitlines()]
        assert sum(amounts) == 0
        assert block.startswith("TRNS\t")


def test_the_demo_books_export_passes_bean_check_and_hledger(tmp_path):
    from django.utils import timezone

    from ledger.models import JournalEntry, LegalEntity
    from psa.automation.demo.firm import seed

    today = timezone.localdate()
    seed(today=today)
    assert JournalEntry.objects.filter(event="time.approved").exists()
    assert JournalEntry.objects.filter(event="invoice.issued").exists()
    start, end = today - dt.timedelta(days=365), today
    for entity in LegalEntity.objects.all():
        bean = tmp_path / f"{entity.code}.beancount"
        bean.write_text(export("beancount", legal_entity=entity, start=start, end=end))
        result = _bean_check(bean)
        assert result.returncode == 0, result.stdout + result.stderr
        nets = {code: net for code, net in _closing_nets(entity, end).items() if net}
        assert bean.read_text().count(" balance ") == len(nets) > 3
        journal = tmp_path / f"{entity.code}.journal"
        journal.write_text(export("hledger", legal_entity=entity, start=start, end=end))
        result = _hledger_check(journal)
        assert result.returncode == 0, result.stdout + result.stderr
