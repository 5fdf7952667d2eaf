"""The books stay right whatever happens, in whatever order: a stateful property test.

Hypothesis drives the real services — log time, approve, bill and issue, pay partly, fully or
too much, refund, void and re-bill, write off, dispute (won or lost), try to reverse a
document's entry by hand, post and reverse a manual entry, change FX rates and rate cards,
recognise revenue, advance the clock — for customers in EUR, GBP, JPY and KWD of a GBP entity.
After every step it checks what an auditor checks:

- the trial balance balances, and the beancount export loads without an error;
- every document's receivable (in its own currency) is what the document says is still due,
  and a settled document's receivable is zero in the functional currency too;
- the customer's credit in the ledger is the credit the billing side holds;
- WIP is zero on a project with no approved, unbilled time, and otherwise exactly what the
  approvals of that time accrued (in the project's and the functional currency), which is its
  value at the rate in force when it was approved, to the rounding of each accrual;
- deferred revenue is what was billed in advance and not yet recognised;
- no time entry is on two active invoice lines, and every billed entry is on exactly one.

``MONEY_MACHINE_EXAMPLES`` sets the size (the suite runs a small one; ``bench/`` a long one).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import defaultdict
from decimal import Decimal as D

import pytest
import time_machine
from beancount import loader
from django.db import transaction
from django.db.models import Count, F, Sum
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from billing.models import (
    CustomerCredit,
    FeeKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payment,
    PaymentMethodKind,
    Recognition,
    TaxRate,
    TimeEntryBilling,
)
from billing.models.invoices import OPEN
from billing.services import billing_run_execute, invoice_void
from billing.services.payments import invoice_write_off, payment_record
from billing.services.recurring import recurring_fee_create, revenue_recognise
from billing.services.refunds import dispute_sync, payment_refund
from ledger.exports import export
from ledger.models import FxRate, JournalEntry, JournalLine
from ledger.services import journal_reverse
from projects.models import BillingModel, RateCard
from psa.kernel import errors
from psa.kernel.money import round_money, to_minor_units
from psa.kernel.roles import Role
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books, manual_entry
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.psa.factories import UserFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import EntryStatus, TimeEntry
from timesheets.services.approvals import week_approve
from timesheets.services.weeks import week_submit

START = dt.date(2026, 1, 5)  # a Monday
RATES_FROM = START - dt.timedelta(days=60)
# Currency, rate card rate, first FX rate to GBP.
BOOKS = [
    ("GBP", D("120.00"), D(1)),
    ("EUR", D("95.50"), D("0.8537")),
    ("JPY", D("15000"), D("0.0053")),
    ("KWD", D("12.345"), D("2.5712")),
]
FAR = dt.date(2100, 1, 1)
EXAMPLES = int(os.environ.get("MONEY_MACHINE_EXAMPLES", "12"))
STEPS = int(os.environ.get("MONEY_MACHINE_STEPS", "30"))
_ids = itertools.count(1)
# MONEY_MACHINE_SHRINK=0 while developing: a failure is reported as found, unshrunk.
PHASES = [p for p in Phase if p != Phase.shrink or os.environ.get("MONEY_MACHINE_SHRINK") != "0"]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _role_balances(entity, role: str, *keys: str) -> dict:
    """{key tuple: (transaction-currency balance, functional balance)} of a role's lines."""
    rows = (
        JournalLine.objects.filter(legal_entity=entity, account__roles__role=role)
        .values(*keys)
        .annotate(txn=Sum("amount_currency"), fn=Sum("debit") - Sum("credit"))
    )
    return {tuple(r[k] for k in keys): (r["txn"], r["fn"]) for r in rows}


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.today = START
        self.accrued: dict[int, D] = {}  # entry -> the value its approval accrued
        self._clock = time_machine.travel(self._noon(), tick=False)
        self._clock.start()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.entity = books(code=f"mm{next(_ids)}", functional_currency="GBP", name="Machine UK")
        TaxRate.objects.create(
            legal_entity=self.entity, name="VAT", rate=D("0.20"), is_default=True
        )
        self.manager = UserFactory(roles=[Role.PROJECT_MANAGER, Role.CONSULTANT])
        self.consultant = UserFactory(roles=[Role.CONSULTANT])
        self.finance = UserFactory(roles=[Role.FINANCE])
        self.projects = []
        for currency, rate, fx in BOOKS:
            if currency != "GBP":
                FxRate.objects.create(
                    currency=currency, functional_currency="GBP", date=RATES_FROM, rate=fx
                )
            customer = CustomerFactory(
                legal_entity=self.entity, currency=currency, payment_terms_days=14,
                billing_email=f"ap-{currency.lower()}@example.test",
            )  # fmt: skip
            project = ProjectFactory(customer=customer, manager=self.manager, start_date=RATES_FROM)
            AssignmentFactory(project=project, person=self.consultant)
            RateCardFactory(
                project=project, rate=rate, currency=currency, effective_from=RATES_FROM
            )
            self.projects.append(project)
        # A subscription billed a month in advance: deferred, then recognised day by day.
        gbp = self.projects[0].customer
        subscription = ProjectFactory(
            customer=gbp, manager=self.manager, start_date=START,
            billing_model=BillingModel.SUBSCRIPTION,
        )  # fmt: skip
        recurring_fee_create(
            project=subscription, kind=FeeKind.SUBSCRIPTION, description="Hosting",
            unit_price="310.00", start_date=START, actor=self.finance,
        )  # fmt: skip

    def _noon(self) -> dt.datetime:
        return dt.datetime.combine(self.today, dt.time(12), tzinfo=dt.UTC)

    def teardown(self) -> None:
        docs = Invoice.objects.filter(legal_entity=self.entity).exclude(status="draft")
        for status in docs.values_list("kind", "status").distinct():
            event(f"document {status[0]} {status[1]}")
        entries = JournalEntry.objects.filter(legal_entity=self.entity).count()
        event(f"journal entries: {entries // 10 * 10}+")
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        self._clock.stop()

    # --- what people and jobs do -------------------------------------------------------------

    @rule(p=st.integers(0, 3), back=st.integers(0, 9), quarters=st.integers(1, 40))
    def log_time(self, p, back, quarters):
        day = self.today - dt.timedelta(days=back)
        if day.weekday() > 4:
            return
        project = self.projects[p]
        if TimeEntry.objects.filter(person=self.consultant, project=project, date=day).exists():
            return
        TimeEntryFactory(person=self.consultant, project=project, date=day, hours=D(quarters) / 4)

    @rule(weeks_back=st.integers(0, 2))
    def submit_and_approve(self, weeks_back):
        week = _monday(self.today) - dt.timedelta(weeks=weeks_back)
        drafts = TimeEntry.objects.filter(
            person=self.consultant, status=EntryStatus.DRAFT, date__gte=week,
            date__lt=week + dt.timedelta(days=7),
        )  # fmt: skip
        if drafts.exists():
            week_submit(actor=self.consultant, person=self.consultant, week_start=week)
        rates = {c.project_id: c.rate for c in RateCard.objects.filter(project__in=self.projects)}
        waiting = TimeEntry.objects.filter(
            person=self.consultant, status=EntryStatus.SUBMITTED, date__gte=week,
            date__lt=week + dt.timedelta(days=7),
        )  # fmt: skip
        values = {e.pk: e.hours * rates[e.project_id] for e in waiting}
        week_approve(actor=self.manager, person=self.consultant, week_start=week)
        approved = TimeEntry.objects.filter(pk__in=values, status=EntryStatus.APPROVED)
        for pk in approved.values_list("pk", flat=True):
            self.accrued[pk] = values[pk]

    @rule()
    def bill(self):
        billing_run_execute(
            legal_entity=self.entity, period_end=self.today, actor=self.finance,
            actor_label="machine", issue=True, today=self.today,
        )  # fmt: skip

    def _pick(self, queryset, i):
        rows = list(queryset.order_by("pk"))
        return rows[i % len(rows)] if rows else None

    def _open_invoices(self):
        return Invoice.objects.filter(
            legal_entity=self.entity, kind=InvoiceKind.INVOICE, status__in=OPEN,
            total__gt=F("amount_paid"),
        )  # fmt: skip

    @rule(i=st.integers(0, 99), how=st.sampled_from(["part", "full", "over", "card"]))
    def pay(self, i, how):
        invoice = self._pick(self._open_invoices(), i)
        if invoice is None:
            return
        due = invoice.amount_due
        amount = {
            "part": max(round_money(due * D("0.37"), invoice.currency), D(1)),
            "full": due,
            "over": due + D(10),
            "card": due,
        }[how]
        amount = min(amount, due) if how == "part" else amount
        card = how == "card"
        payment_record(
            invoice=invoice, amount=amount, received_on=self.today,
            method=PaymentMethodKind.CARD if card else PaymentMethodKind.BANK_TRANSFER,
            payment_intent_id=f"pi_machine_{next(_ids)}" if card else None,
            actor=self.finance,
        )  # fmt: skip

    @rule(i=st.integers(0, 99), whole=st.booleans())
    def refund(self, i, whole):
        payment = self._pick(
            Payment.objects.filter(
                legal_entity=self.entity, payment_intent_id=None, amount__gt=0
            ).exclude(refunded__gte=F("amount")),
            i,
        )
        if payment is None:
            return
        left = payment.amount - payment.refunded
        amount = left if whole else max(round_money(left / 3, payment.currency), D(1))
        payment_refund(payment=payment, amount=min(amount, left), actor=self.finance,
                       reason="Machine refund")  # fmt: skip

    @rule(i=st.integers(0, 99))
    def void(self, i):
        invoice = self._pick(
            Invoice.objects.filter(
                legal_entity=self.entity, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED
            ),
            i,
        )
        if invoice is None:
            return
        try:
            invoice_void(invoice=invoice, actor=self.finance, reason="Machine", today=self.today)
        except errors.Conflict:
            assert invoice.payments.exists() or invoice.amount_due != invoice.total

    @rule(i=st.integers(0, 99))
    def write_off(self, i):
        invoice = self._pick(self._open_invoices(), i)
        if invoice is not None:
            invoice_write_off(
                invoice=invoice, actor=self.finance, reason="Machine", today=self.today
            )

    @rule(i=st.integers(0, 99), outcome=st.sampled_from(["needs_response", "won", "lost"]))
    def dispute(self, i, outcome):
        payment = self._pick(
            Payment.objects.filter(legal_entity=self.entity, disputes=None).exclude(
                payment_intent_id=None
            ),
            i,
        )
        if payment is None:
            return
        obj = {
            "id": f"dp_machine_{next(_ids)}",
            "payment_intent": payment.payment_intent_id,
            "amount": to_minor_units(payment.amount, payment.currency),
            "currency": payment.currency.lower(),
            "status": "needs_response",
            "reason": "fraudulent",
        }
        dispute_sync(dispute_obj=obj)
        if outcome != "needs_response":
            dispute_sync(dispute_obj={**obj, "status": outcome})

    @rule(i=st.integers(0, 999))
    def reverse_a_document_entry_by_hand(self, i):
        entry = self._pick(
            JournalEntry.objects.filter(legal_entity=self.entity).exclude(source_type="manual"),
            i,
        )
        if entry is None:
            return
        with pytest.raises(errors.Conflict):
            journal_reverse(entry=entry, date=self.today, reason="Machine", actor=self.finance)

    @rule(cents=st.integers(1, 100_000), reverse=st.booleans())
    def manual_entry(self, cents, reverse):
        entry = manual_entry(
            self.entity, date=self.today, amount=str(D(cents) / 100), actor=self.finance
        )
        if reverse:
            journal_reverse(entry=entry, date=self.today, reason="Typo", actor=self.finance)

    @rule(p=st.integers(1, 3), permille=st.integers(-80, 80))
    def fx_rate_moves(self, p, permille):
        currency = self.projects[p].currency
        last = FxRate.objects.filter(currency=currency, functional_currency="GBP").latest("date")
        rate = (last.rate * (1 + D(permille) / 1000)).quantize(D("0.000001"))
        FxRate.objects.update_or_create(
            currency=currency, functional_currency="GBP", date=self.today,
            defaults={"rate": rate},
        )  # fmt: skip

    @rule(p=st.integers(0, 3), percent=st.integers(-20, 30))
    def rate_card_changes(self, p, percent):
        """A retroactive correction of the project's rate, between approval and invoicing."""
        card = RateCard.objects.get(project=self.projects[p])
        card.rate = round_money(card.rate * (1 + D(percent) / 100), card.currency)
        card.save(update_fields=["rate"])

    @rule()
    def recognise(self):
        revenue_recognise(as_of=self.today)

    @rule(days=st.integers(1, 20))
    def advance_the_clock(self, days):
        self.today += dt.timedelta(days=days)
        self._clock.stop()
        self._clock = time_machine.travel(self._noon(), tick=False)
        self._clock.start()

    # --- what an auditor checks after every step ---------------------------------------------

    @invariant()
    def books_balance_and_export_loads(self):
        totals = JournalLine.objects.filter(legal_entity=self.entity).aggregate(
            d=Sum("debit"), c=Sum("credit")
        )
        assert totals["d"] == totals["c"]
        text = export("beancount", legal_entity=self.entity, start=RATES_FROM, end=FAR)
        _, problems, _ = loader.load_string(text)
        assert problems == []

    @invariant()
    def every_receivable_is_what_its_document_says_is_due(self):
        ar = _role_balances(self.entity, "accounts_receivable", "document")
        documents = Invoice.objects.filter(legal_entity=self.entity).exclude(
            status=InvoiceStatus.DRAFT
        )
        for doc in documents:
            txn, fn = ar.pop((f"invoice:{doc.pk}",), (D(0), D(0)))
            if doc.kind == InvoiceKind.INVOICE and doc.status in OPEN:
                assert txn == doc.amount_due, (doc.number, doc.status, txn, doc.amount_due)
            else:
                assert (txn, fn) == (0, 0), (doc.number, doc.status, txn, fn)
        assert all(v == (0, 0) for v in ar.values()), ar

    @invariant()
    def customer_credit_in_the_books_is_the_credit_billing_holds(self):
        books_credit = _role_balances(
            self.entity, "customer_prepayments", "customer_id", "currency"
        )
        held = (
            CustomerCredit.objects.filter(customer__legal_entity=self.entity)
            .values("customer_id", "currency")
            .annotate(s=Sum("amount"))
        )
        expected = {(r["customer_id"], r["currency"]): r["s"] for r in held if r["s"]}
        actual = {k: -txn for k, (txn, _fn) in books_credit.items() if txn}
        assert actual == expected

    @invariant()
    def wip_is_the_approved_unbilled_time(self):
        wip = _role_balances(self.entity, "unbilled_revenue", "project_id")
        for project in self.projects:
            waiting = TimeEntry.objects.filter(
                project=project, status=EntryStatus.APPROVED, billable=True
            ).exclude(billings__released_at__isnull=True, billings__isnull=False)
            txn, fn = wip.get((project.pk,), (D(0), D(0)))
            if not waiting.exists():
                assert (txn, fn) == (0, 0), (project.currency, txn, fn)
                continue
            # Exactly what the approvals accrued for these entries, in both currencies.
            shares = waiting.aggregate(txn=Sum("accrued_amount"), fn=Sum("accrued_functional"))
            assert (txn, fn) == (shares["txn"], shares["fn"]), (project.currency, txn, fn, shares)
            # And that is the time's value at the rate in force when it was approved.
            value = sum((self.accrued[pk] for pk in waiting.values_list("pk", flat=True)), D(0))
            # At most half a minor unit of rounding per posting that touched the project's WIP.
            postings = JournalEntry.objects.filter(
                lines__project_id=project.pk, lines__account__roles__role="unbilled_revenue"
            ).distinct()
            half_unit = round_money(D(1), project.currency).as_tuple().exponent
            slack = postings.count() * D(5) * D(10) ** (half_unit - 1)
            assert abs(txn - value) <= slack, (project.currency, txn, value, slack)

    @invariant()
    def deferred_revenue_is_billed_in_advance_less_recognised(self):
        deferred = _role_balances(self.entity, "deferred_revenue", "document")
        lines = InvoiceLine.objects.filter(
            invoice__legal_entity=self.entity, kind=LineKind.RECURRING,
            invoice__kind=InvoiceKind.INVOICE,
        ).exclude(invoice__status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])  # fmt: skip
        expected = defaultdict(D)
        for line in lines:
            done = Recognition.objects.filter(line=line).aggregate(s=Sum("amount"))["s"] or 0
            expected[(f"invoice:{line.invoice_id}",)] -= line.net - done
        actual = {k: txn for k, (txn, _fn) in deferred.items() if txn}
        assert actual == {k: v for k, v in expected.items() if v}

    @invariant()
    def no_time_is_billed_twice(self):
        active = TimeEntryBilling.objects.filter(
            released_at=None, time_entry__project__legal_entity=self.entity
        )
        twice = active.values("time_entry").annotate(n=Count("id")).filter(n__gt=1)
        assert not twice.exists()
        billed = TimeEntry.objects.filter(billings__in=active)
        assert not billed.exclude(status=EntryStatus.APPROVED).exclude(billed_at__isnull=False)


def test_the_books_stay_right_whatever_happens(db):
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
