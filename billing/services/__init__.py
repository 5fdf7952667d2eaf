"""Services of billing (see STYLE.md: writes, named <entity>_<action>), a package by area.

The invoice life cycle (runs, issuing, voiding, sending) is re-exported here: import from
``billing.services``. The payment areas (payments, refunds, collect, dunning, Stripe events, the
Stripe gateway) are imported from their modules.
"""

from billing.services.invoices import (
    REVERSE_CHARGE_NOTE,
    ZERO,
    Preview,
    PreviewInvoice,
    PreviewLine,
    billing_run_execute,
    billing_run_preview,
    fund_available,
    invoice_issue,
    invoice_recipient,
    invoice_send,
    invoice_totals_check,
    invoice_void,
    milestone_reached_post,
    price_line,
    tax_rates_for,
    tax_summary,
)

__all__ = [
    "REVERSE_CHARGE_NOTE",
    "ZERO",
    "Preview",
    "PreviewInvoice",
    "PreviewLine",
    "billing_run_execute",
    "billing_run_preview",
    "fund_available",
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
