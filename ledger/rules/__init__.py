"""The posting-rules engine: a pure function from a business event to journal lines.

``build_lines(event, functional_currency)`` touches no database, so a preview, a golden test and
the real posting all run the same code. Rules speak in account *roles*; the service maps roles
to each legal entity's accounts. Amounts in events are in the document's (transaction) currency,
already rounded to its minor unit; each line is converted to the functional currency and rounded
once (ROUND_HALF_UP), and whatever residual that leaves goes, deterministically, to one line on
the ``rounding`` role. The defaults implement the posting-rules table of DOMAIN.md.

Bump RULES_VERSION whenever a rule changes what it posts; every entry is stamped with it.
"""

from ledger.rules.events import (  # noqa: F401 - the rules' public names
    ONE,
    RULES_VERSION,
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
from ledger.rules.posting import build_lines, recognised_to_date  # noqa: F401
