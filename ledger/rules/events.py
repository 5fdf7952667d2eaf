"""The business events the posting rules understand: what happened, in the document's
currency, already rounded. ``ledger.rules`` re-exports every name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

RULES_VERSION = "2026.12.2"
ZERO = Decimal(0)
ONE = Decimal(1)


class RuleError(ValueError):
    """The event cannot be posted as given (e.g. negative amounts, unbalanced parts)."""


@dataclass(frozen=True)
class Line:
    role: str
    debit: Decimal
    credit: Decimal
    amount_currency: Decimal  # signed, transaction currency (+ debit, - credit)
    currency: str
    fx_rate: Decimal
    customer_id: int | None = None
    project_id: int | None = None
    person_id: int | None = None
    document: str = ""
    due_date: dt.date | None = None
    description: str = ""


@dataclass(frozen=True)
class Event:
    """Fields every event has: its currency and rate, and the dimensions of its lines."""

    name: ClassVar[str] = ""
    currency: str
    fx_rate: Decimal = ONE  # functional units per one transaction unit
    customer_id: int | None = None
    project_id: int | None = None
    person_id: int | None = None
    document: str = ""
    description: str = ""


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeApproved(Event):
    """Billable T&M time approved: accrue work in progress."""

    name: ClassVar[str] = "time.approved"
    amount: Decimal = ZERO


@dataclass(frozen=True)
class InvoicePart:
    """One group of invoice lines with the same treatment.

    kind: "time" (credits WIP at ``accrued``; the difference to ``net`` is a write-up or -down
    of services revenue; with ``accrued_functional``, WIP leaves at exactly that functional
    amount, what approval accrued, and its difference to ``accrued`` at the event's rate is
    realised FX), "milestone" (``reached`` decides revenue or deferred revenue),
    "recurring" (billed in advance: deferred; on a credit note ``accrued`` is the part already
    recognised, which comes back out of recurring revenue instead), "prepayment" (a prepaid
    fund top-up: a liability to the customer until drawn down), or "services" (expenses, usage,
    overage, adjustments: services revenue). A part's ``net`` may be negative only for
    "time" (a write-down to a cap nets into it).
    """

    kind: str
    net: Decimal
    tax: Decimal = ZERO
    accrued: Decimal = ZERO
    accrued_functional: Decimal | None = None
    reached: bool = True
    project_id: int | None = None
    person_id: int | None = None
    # A service item's accounting: its revenue role (blank: the kind's) and whether it is
    # deferred at issue (None: as the kind is, see ``_REVENUE``).
    revenue_role: str = ""
    deferred: bool | None = None


@dataclass(frozen=True)
class InvoiceIssued(Event):
    name: ClassVar[str] = "invoice.issued"
    parts: tuple[InvoicePart, ...] = ()
    due_date: dt.date | None = None


@dataclass(frozen=True)
class CreditNoteIssued(InvoiceIssued):
    """The exact reverse of the invoice lines it credits (``parts`` as on the invoice)."""

    name: ClassVar[str] = "credit_note.issued"


@dataclass(frozen=True)
class MilestoneReached(Event):
    """A milestone invoiced before it was reached is now reached: deferred → revenue (its
    service item's ``revenue_role``, or fixed-fee revenue)."""

    name: ClassVar[str] = "milestone.reached"
    amount: Decimal = ZERO
    revenue_role: str = ""


@dataclass(frozen=True)
class RevenueRecognised(Event):
    """The recognition job moves a slice of a recurring fee from deferred to revenue."""

    name: ClassVar[str] = "revenue.recognised"
    amount: Decimal = ZERO
    revenue_role: str = ""  # the line's service item's; blank: recurring revenue


@dataclass(frozen=True)
class RecurringRevenueAccrued(Event):
    """A recurring fee earned before its invoice was issued: revenue against unbilled revenue
    in its period; ``invoiced``: moved to the deferred revenue the invoice credited."""

    name: ClassVar[str] = "revenue.accrued"
    amount: Decimal = ZERO
    invoiced: bool = False


@dataclass(frozen=True)
class PrepaymentReceived(Event):
    name: ClassVar[str] = "prepayment.received"
    amount: Decimal = ZERO
    via: str = "bank"  # or "stripe"


@dataclass(frozen=True)
class FundApplied(Event):
    """A prepaid fund draws down against an invoice.

    The receivable leaves at the invoice's rate (``fx_rate``); the prepayment at ``carrying``,
    the functional amount it is held at (its share of what the customer's prepayments in this
    currency carry), if given. The difference is realised FX: the fund was paid at one rate and
    spent at another.
    """

    name: ClassVar[str] = "fund.applied"
    amount: Decimal = ZERO
    carrying: Decimal | None = None


@dataclass(frozen=True)
class PrepaymentReturned(Event):
    """A void gives back what a fund or credit paid: the reverse of ``FundApplied``."""

    name: ClassVar[str] = "prepayment.returned"
    amount: Decimal = ZERO


@dataclass(frozen=True)
class PaymentReceived(Event):
    """A customer paid a document, by card (with Stripe's fee) or bank transfer.

    ``amount`` is what the customer paid; ``applied`` the part that settles the document
    (the rest, an overpayment, becomes customer credit). ``receivable_rate`` is the rate the
    receivable was booked at; if ``fx_rate`` differs, the difference is an FX gain or loss.
    """

    name: ClassVar[str] = "payment.received"
    amount: Decimal = ZERO
    fee: Decimal = ZERO
    via: str = "bank"  # or "stripe"
    applied: Decimal | None = None
    receivable_rate: Decimal | None = None


@dataclass(frozen=True)
class CustomerCreditApplied(Event):
    """Customer credit settles an invoice; ``carrying`` as for ``FundApplied``."""

    name: ClassVar[str] = "credit.applied"
    amount: Decimal = ZERO
    carrying: Decimal | None = None


@dataclass(frozen=True)
class PayoutPaid(Event):
    name: ClassVar[str] = "payout.paid"
    amount: Decimal = ZERO


@dataclass(frozen=True)
class RefundPaid(Event):
    """Money returned to a customer, from a receivable (reopens it) or from their credit.

    The cash leaves at ``fx_rate`` (the refund date's); the receivable or credit comes back at
    ``carrying_rate``, the rate it was booked at (the invoice's, or the payment's for credit).
    If they differ, the difference is a realised FX gain or loss.
    """

    name: ClassVar[str] = "refund.paid"
    amount: Decimal = ZERO
    via: str = "stripe"
    from_credit: bool = False
    carrying_rate: Decimal | None = None


@dataclass(frozen=True)
class DisputeOpened(Event):
    """A card payment was disputed: Stripe took the amount (and a dispute fee) back from the
    balance. Booked as a chargeback loss until the dispute is won."""

    name: ClassVar[str] = "dispute.opened"
    amount: Decimal = ZERO
    fee: Decimal = ZERO


@dataclass(frozen=True)
class DisputeWon(Event):
    """The dispute was decided for us: the amount returns to the Stripe balance."""

    name: ClassVar[str] = "dispute.won"
    amount: Decimal = ZERO


@dataclass(frozen=True)
class DisputeLost(Event):
    """Decided against us: the invoice is owed again. The chargeback loss becomes a receivable
    at ``receivable_rate`` (the loss left at ``fx_rate``: the difference is realised FX)."""

    name: ClassVar[str] = "dispute.lost"
    amount: Decimal = ZERO
    receivable_rate: Decimal | None = None


@dataclass(frozen=True)
class ReceivableFxSettled(Event):
    """A document's receivable is settled in its own currency but not in the functional one
    (parts of it were valued at different rates): ``residual``, its functional debit balance,
    leaves the receivable as a realised FX loss (positive) or gain (negative)."""

    name: ClassVar[str] = "receivable.fx_settled"
    residual: Decimal = ZERO


@dataclass(frozen=True)
class WrittenOff(Event):
    name: ClassVar[str] = "receivable.written_off"
    amount: Decimal = ZERO


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        TimeApproved, InvoiceIssued, CreditNoteIssued, MilestoneReached, RevenueRecognised,
        RecurringRevenueAccrued,
        PrepaymentReceived, FundApplied, PrepaymentReturned, PaymentReceived,
        CustomerCreditApplied, PayoutPaid,
        RefundPaid, WrittenOff, DisputeOpened, DisputeWon, DisputeLost, ReceivableFxSettled,
    )
}  # fmt: skip
