"""Events to journal lines: the builder and the rule per event (``build_lines``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.rules.events import (
    ONE,
    ZERO,
    CreditNoteIssued,
    CustomerCreditApplied,
    DisputeLost,
    DisputeOpened,
    DisputeWon,
    Event,
    FundApplied,
    InvoiceIssued,
    InvoicePart,
    Line,
    MilestoneReached,
    PaymentReceived,
    PayoutPaid,
    PrepaymentReceived,
    PrepaymentReturned,
    ReceivableFxSettled,
    RecurringRevenueAccrued,
    RefundPaid,
    RevenueRecognised,
    RuleError,
    TimeApproved,
    WrittenOff,
)
from psa.kernel.money import round_money

# --- the builder ------------------------------------------------------------------------------


@dataclass
class _Builder:
    event: Event
    functional: str
    # (role, signed transaction amount, rate, fixed functional amount or None, metadata)
    lines: list[tuple[str, Decimal, Decimal, Decimal | None, dict]] = field(default_factory=list)

    def post(self, role: str, amount: Decimal, *, rate: Decimal | None = None, **meta) -> None:
        """Debit ``role`` with a positive amount, credit it with a negative one (txn currency)."""
        if amount:
            self.lines.append((role, amount, rate or self.event.fx_rate, None, meta))

    def post_carrying(self, role: str, amount: Decimal, functional: Decimal, **meta) -> None:
        """Like ``post``, but at a fixed functional amount (what the balance was booked at)."""
        if amount or functional:
            self.lines.append((role, amount, self.event.fx_rate, functional, meta))

    def post_functional(self, role: str, functional: Decimal, **meta) -> None:
        """A line that exists only in the functional currency (an FX difference)."""
        self.post_carrying(role, ZERO, functional, **meta)

    def build(self) -> list[Line]:
        ev = self.event
        txn_total = sum((amount for _, amount, _, _, _ in self.lines), ZERO)
        if txn_total:
            raise RuleError(f"{ev.name}: lines do not balance in {ev.currency} ({txn_total})")
        out: list[Line] = []
        for role, amount, rate, fixed, meta in self.lines:
            signed = fixed if fixed is not None else amount
            functional = round_money(
                abs(signed) * (ONE if fixed is not None else rate), self.functional
            )
            if not functional:
                continue  # below the functional minor unit: left to the rounding line
            out.append(
                Line(
                    role=role,
                    debit=functional if signed > 0 else ZERO,
                    credit=functional if signed < 0 else ZERO,
                    amount_currency=amount,
                    currency=ev.currency,
                    fx_rate=rate,
                    customer_id=meta.get("customer_id", ev.customer_id),
                    project_id=meta.get("project_id", ev.project_id),
                    person_id=meta.get("person_id", ev.person_id),
                    document=meta.get("document", ev.document),
                    due_date=meta.get("due_date"),
                    description=meta.get("description", ev.description),
                )
            )
        residual = sum((ln.debit - ln.credit for ln in out), ZERO)
        if residual:
            # Converting each line once leaves at most a few minor units; they go to the
            # rounding account so the entry balances exactly, the same way every time.
            out.append(
                Line(
                    role="rounding",
                    debit=ZERO if residual > 0 else -residual,
                    credit=residual if residual > 0 else ZERO,
                    amount_currency=ZERO,
                    currency=ev.currency,
                    fx_rate=ev.fx_rate,
                    customer_id=ev.customer_id,
                    description="Rounding on conversion",
                )
            )
        return out


def _positive(*amounts: Decimal) -> None:
    for amount in amounts:
        if amount < 0:
            raise RuleError("Event amounts must not be negative; post the opposite event.")


def build_lines(event: Event, functional_currency: str) -> list[Line]:
    """The journal lines ``event`` posts, in roles, balanced in the functional currency."""
    b = _Builder(event, functional_currency)
    match event:
        case CreditNoteIssued() | InvoiceIssued():
            sign = -1 if isinstance(event, CreditNoteIssued) else 1
            gross = sum((p.net + p.tax for p in event.parts), ZERO)
            b.post("accounts_receivable", sign * gross, due_date=event.due_date)
            for p in event.parts:
                _positive(p.tax, p.accrued)
                dims = {"project_id": p.project_id or event.project_id, "person_id": p.person_id}
                if p.kind == "time":
                    _relieve_wip(b, p, sign, dims)
                    b.post("revenue_services", -sign * (p.net - p.accrued), **dims)
                elif p.kind in _REVENUE:
                    _revenue(b, p, sign, dims)
                elif p.kind == "prepayment":
                    b.post("customer_prepayments", -sign * p.net, **dims)
                else:
                    raise RuleError(f"Unknown invoice part kind {p.kind!r}")
                b.post("tax_payable", -sign * p.tax, **dims)
        case TimeApproved(amount=amount):
            _positive(amount)
            b.post("unbilled_revenue", amount)
            b.post("revenue_services", -amount)
        case MilestoneReached(amount=amount, revenue_role=role):
            _positive(amount)
            b.post("deferred_revenue", amount)
            b.post(role or "revenue_fixed_fee", -amount)
        case RevenueRecognised(amount=amount, revenue_role=role):
            _positive(amount)
            b.post("deferred_revenue", amount)
            b.post(role or "revenue_recurring", -amount)
        case RecurringRevenueAccrued() | PrepaymentReturned():
            _debit_credit(b, event)
        case PrepaymentReceived(amount=amount, via=via):
            _positive(amount)
            b.post(_cash_role(via), amount)
            b.post("customer_prepayments", -amount)
        case FundApplied() | CustomerCreditApplied():
            _prepayment_applied(b, event.amount, event.carrying)
        case PaymentReceived():
            _payment(b, event)
        case PayoutPaid(amount=amount):
            _positive(amount)
            b.post("bank", amount)
            b.post("stripe_clearing", -amount)
        case RefundPaid():
            _refund(b, event)
        case DisputeOpened(amount=amount, fee=fee):
            _positive(amount, fee)
            b.post("bad_debt", amount)
            b.post("payment_fees", fee)
            b.post("stripe_clearing", -(amount + fee))
        case DisputeWon(amount=amount):
            _positive(amount)
            b.post("stripe_clearing", amount)
            b.post("bad_debt", -amount)
        case DisputeLost():
            _dispute_lost(b, event)
        case ReceivableFxSettled(residual=residual):
            b.post_functional("accounts_receivable", -residual, description="FX difference")
            b.post_functional("fx_gain_loss", residual, description="FX difference")
        case WrittenOff(amount=amount):
            _positive(amount)
            b.post("bad_debt", amount)
            b.post("accounts_receivable", -amount)
        case _:
            raise RuleError(f"No posting rule for {type(event).__name__}")
    return b.build()


def _debit_credit(b: _Builder, ev: RecurringRevenueAccrued | PrepaymentReturned) -> None:
    """Events that debit one role and credit another with the same amount."""
    _positive(ev.amount)
    if isinstance(ev, PrepaymentReturned):
        debit, credit = "accounts_receivable", "customer_prepayments"
    elif ev.invoiced:
        debit, credit = "deferred_revenue", "unbilled_revenue"
    else:
        debit, credit = "unbilled_revenue", "revenue_recurring"
    b.post(debit, ev.amount)
    b.post(credit, -ev.amount)


# kind → (revenue role, deferred at issue: None for a milestone, deferred until reached)
_REVENUE = {"milestone": ("revenue_fixed_fee", None), "recurring": ("revenue_recurring", True),
            "services": ("revenue_services", False)}  # fmt: skip


def _revenue(b: _Builder, p: InvoicePart, sign: int, dims: dict) -> None:
    """Revenue at issue, or deferred (recognised later: over the service period, or when the
    milestone is reached); ``accrued``: the part already recognised (on a credit note)."""
    role, deferred = _REVENUE[p.kind]
    role = p.revenue_role or role
    deferred = p.deferred if p.deferred is not None else deferred
    deferred = (not p.reached) if deferred is None else deferred
    if deferred:
        b.post("deferred_revenue", -sign * (p.net - p.accrued), **dims)
        b.post(role, -sign * p.accrued, **dims)
    else:
        b.post(role, -sign * p.net, **dims)


def _relieve_wip(b: _Builder, p: InvoicePart, sign: int, dims: dict) -> None:
    """Credit WIP (debit it, on a credit note) at exactly its accrued functional value, so WIP
    clears to zero; the difference to it at the document's rate is realised FX."""
    if p.accrued_functional is None:
        b.post("unbilled_revenue", -sign * p.accrued, **dims)
        return
    _positive(p.accrued_functional)
    b.post_carrying("unbilled_revenue", -sign * p.accrued, -sign * p.accrued_functional, **dims)
    at_rate = round_money(p.accrued * b.event.fx_rate, b.functional)
    b.post_functional(
        "fx_gain_loss", sign * (p.accrued_functional - at_rate), description="FX on WIP", **dims
    )


def _prepayment_applied(b: _Builder, amount: Decimal, carrying: Decimal | None) -> None:
    _positive(amount)
    b.post("accounts_receivable", -amount)
    if carrying is None:
        b.post("customer_prepayments", amount)
        return
    _positive(carrying)
    b.post_carrying("customer_prepayments", amount, carrying)
    # Receivable out at the invoice's rate, prepayment at its own: the difference is FX.
    at_rate = round_money(amount * b.event.fx_rate, b.functional)
    b.post_functional("fx_gain_loss", at_rate - carrying, description="FX difference")


def _cash_role(via: str) -> str:
    if via not in ("bank", "stripe"):
        raise RuleError(f"Unknown payment channel {via!r}")
    return "bank" if via == "bank" else "stripe_clearing"


def _payment(b: _Builder, ev: PaymentReceived) -> None:
    applied = ev.amount if ev.applied is None else ev.applied
    _positive(ev.amount, ev.fee, applied)
    if applied > ev.amount:
        raise RuleError("A payment cannot settle more than was paid.")
    if ev.fee > ev.amount:
        raise RuleError("The fee cannot exceed the payment.")
    b.post(_cash_role(ev.via), ev.amount - ev.fee)
    b.post("payment_fees", ev.fee)
    receivable_rate = ev.receivable_rate or ev.fx_rate
    b.post("accounts_receivable", -applied, rate=receivable_rate)
    b.post("customer_prepayments", -(ev.amount - applied))
    if receivable_rate != ev.fx_rate and applied:
        # The receivable leaves at the rate it was booked at, the cash arrives at today's:
        # the difference, in functional currency, is an FX loss (debit) or gain (credit).
        booked = round_money(applied * receivable_rate, b.functional)
        received = round_money(applied * ev.fx_rate, b.functional)
        b.post_functional("fx_gain_loss", booked - received, description="FX difference")


def _refund(b: _Builder, ev: RefundPaid) -> None:
    _positive(ev.amount)
    carrying = ev.carrying_rate or ev.fx_rate
    role = "customer_prepayments" if ev.from_credit else "accounts_receivable"
    b.post(role, ev.amount, rate=carrying)
    b.post(_cash_role(ev.via), -ev.amount)
    if carrying != ev.fx_rate:
        # The receivable or credit returns at the rate it was booked at, the cash leaves at
        # today's: the difference, in functional currency, is an FX loss (debit) or gain.
        booked = round_money(ev.amount * carrying, b.functional)
        paid = round_money(ev.amount * ev.fx_rate, b.functional)
        b.post_functional("fx_gain_loss", paid - booked, description="FX difference")


def _dispute_lost(b: _Builder, ev: DisputeLost) -> None:
    _positive(ev.amount)
    receivable_rate = ev.receivable_rate or ev.fx_rate
    b.post("accounts_receivable", ev.amount, rate=receivable_rate)
    b.post("bad_debt", -ev.amount)
    if receivable_rate != ev.fx_rate:
        # The receivable comes back at the invoice's rate, the loss leaves at the payment's.
        owed = round_money(ev.amount * receivable_rate, b.functional)
        lost = round_money(ev.amount * ev.fx_rate, b.functional)
        b.post_functional("fx_gain_loss", lost - owed, description="FX difference")


# --- revenue recognition ------------------------------------------------------------------------


def recognised_to_date(
    *, amount: Decimal, currency: str, start: dt.date, end: dt.date, as_of: dt.date
) -> Decimal:
    """Revenue of a service period [start, end] recognised by the end of ``as_of``.

    Pro rata by days, rounded on the cumulative figure: each day's slice is the difference of
    two cumulative figures, so the slices always add up to ``amount`` and the last day takes
    whatever remainder rounding left.
    """
    if end < start:
        raise RuleError("A service period cannot end before it starts.")
    if as_of < start:
        return ZERO
    if as_of >= end:
        return amount
    total_days = (end - start).days + 1
    elapsed = (as_of - start).days + 1
    return round_money(amount * elapsed / total_days, currency)
