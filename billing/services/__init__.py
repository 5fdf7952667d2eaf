"""Services of billing (see STYLE.md: writes, named <entity>_<action>), a package by area.

The invoice life cycle (pricing, runs, issuing, funds, voiding, sending) is re-exported here:
import it from ``billing.services``. The payment areas (payments, checkout, refunds, collect,
dunning, Stripe events) and the Stripe gateway are imported from their modules.
"""

from billing.selectors.invoices import tax_summary
from billing.services.funds import (
    fund_available,
)
from billing.services.issuing import (
    held_for_review_reason,
    invoice_issue,
    milestone_reached_post,
)
from billing.services.pricing import (
    REVERSE_CHARGE_NOTE,
    ZERO,
    billing_settings,
    invoice_totals_check,
    price_line,
    tax_rates_for,
)
from billing.services.runs import (
    Preview,
    PreviewInvoice,
    PreviewLine,
    billing_run_execute,
    billing_run_preview,
)
from billing.services.sending import (
    invoice_recipient,
    invoice_send,
)
from billing.services.voiding import (
    invoice_void,
)

__all__ = [
    "REVERSE_CHARGE_NOTE",
    "ZERO",
    "Preview",
    "PreviewInvoice",
    "PreviewLine",
    "billing_run_execute",
    "billing_run_preview",
    "billing_settings",
    "fund_available",
    "held_for_review_reason",
    "invoice_issue",
    "invoice_recipient",
    "invoice_send",
    "invoice_totals_check",
    "invoice_void",
    "milestone_reached_post",
    "price_line",
    "tax_rates_for",
    "tax_summary",
]
