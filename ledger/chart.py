"""The default chart of accounts for a services firm, seeded per legal entity."""

from __future__ import annotations

from ledger.models import AccountRole as R
from ledger.models import AccountType as T

# code, name, type, role it plays by default (None: no role)
DEFAULT_CHART: list[tuple[str, str, str, str | None]] = [
    ("1000", "Bank", T.ASSET, R.BANK),
    ("1010", "Stripe clearing", T.ASSET, R.STRIPE_CLEARING),
    ("1100", "Accounts receivable", T.ASSET, R.ACCOUNTS_RECEIVABLE),
    ("1150", "Unbilled revenue (WIP)", T.ASSET, R.UNBILLED_REVENUE),
    ("1190", "Intercompany receivable", T.ASSET, R.INTERCOMPANY_RECEIVABLE),
    ("2100", "Tax payable", T.LIABILITY, R.TAX_PAYABLE),
    ("2200", "Deferred revenue", T.LIABILITY, R.DEFERRED_REVENUE),
    ("2300", "Customer prepayments", T.LIABILITY, R.CUSTOMER_PREPAYMENTS),
    ("2390", "Intercompany payable", T.LIABILITY, R.INTERCOMPANY_PAYABLE),
    ("3000", "Share capital", T.EQUITY, None),
    ("3100", "Retained earnings", T.EQUITY, None),
    ("4000", "Services revenue", T.INCOME, R.REVENUE_SERVICES),
    ("4100", "Fixed-fee revenue", T.INCOME, R.REVENUE_FIXED_FEE),
    ("4200", "Recurring revenue", T.INCOME, R.REVENUE_RECURRING),
    ("6100", "Payment processing fees", T.EXPENSE, R.PAYMENT_FEES),
    ("6200", "Bad debt", T.EXPENSE, R.BAD_DEBT),
    ("7900", "FX gains and losses", T.EXPENSE, R.FX_GAIN_LOSS),
    ("7990", "Rounding differences", T.EXPENSE, R.ROUNDING),
]
