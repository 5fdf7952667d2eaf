"""Who may reverse an entry: the sources of the books and the action that undoes each.

An entry posted by a business document (an invoice, a payment, an accrual, …) is the ledger's
half of that document's state. Reversing it by hand would leave the two halves disagreeing (an
invoice still "issued" with money due while its receivable is zero; WIP gone negative after an
accrual is cancelled twice), so only the document's own action may undo it. Only manual journal
entries are reversible through the generic reversal.

The ledger imports no business app: sources are known here by the string each app posts with.
"""

from __future__ import annotations

from ledger.models import JournalEntry
from psa.kernel import errors

MANUAL = "manual"
REVERSAL = "journal_entry"

# source_type -> (what posted it, what a person does instead).
DOCUMENT_ACTIONS: dict[str, tuple[str, str]] = {
    "invoice": ("invoice", "void the invoice to reverse it"),
    "credit_note": ("credit note", "a credit note is final; bill the amount on a new invoice"),
    "milestone": ("milestone", "void the invoice the milestone was billed on to reverse it"),
    "payment": ("payment", "refund the payment to reverse it"),
    "refund": ("refund", "a refund is final; record a new payment if the money comes back"),
    "credit_use": (
        "customer credit applied to an invoice",
        "void the invoice to give the credit back",
    ),
    "write_off": ("write-off", "record a payment on the invoice if the money arrives"),
    "fund_application": (
        "prepaid fund application",
        "void the invoice to return the funds to the prepaid fund",
    ),
    "recognition": (
        "revenue recognition",
        "it follows the invoice's schedule; void or credit the invoice to undo it",
    ),
    "time_approval": ("time approval accrual", "reject or re-bill the time to reverse it"),
    "demo-time": ("demo time approval accrual", "reject or re-bill the time to reverse it"),
    "dispute": ("Stripe dispute", "it follows the dispute's outcome at Stripe"),
    "payout": ("Stripe payout", "it follows Stripe's payout report"),
}


def _document(entry: JournalEntry, noun: str) -> str:
    """The document as a person names it: invoices and credit notes carry their number in the
    memo ("Invoice INV-2026-0007"); other sources by their id."""
    memo = entry.memo.strip()
    if entry.source_type in ("invoice", "credit_note") and memo.lower().startswith(noun):
        return f"{noun} {memo[len(noun) :].strip()}"
    return f"{noun} {entry.source_id}"


def reversal_refusal(entry: JournalEntry) -> errors.Conflict | None:
    """Why ``entry`` may not be reversed by hand, or None if it may (a manual entry)."""
    if entry.source_type == MANUAL and entry.reverses_id is None:
        return None
    if entry.reverses_id is not None or entry.source_type == REVERSAL:
        message = (
            f"This entry is itself the reversal of JE {entry.reverses_id or entry.source_id}; "
            "post a new manual entry instead of reversing it."
        )
        code = "reversal_not_reversible"
    elif entry.source_type in DOCUMENT_ACTIONS:
        noun, action = DOCUMENT_ACTIONS[entry.source_type]
        message = f"This entry was posted by {_document(entry, noun)}; {action}."
        code = "source_owned_entry"
    else:
        message = (
            f"This entry was posted automatically ({entry.source_type} {entry.source_id}); "
            "only manual journal entries can be reversed by hand."
        )
        code = "source_owned_entry"
    return errors.Conflict(message, code=code)
