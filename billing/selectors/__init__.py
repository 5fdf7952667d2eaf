"""Reads of billing (see STYLE.md), a package by area; import from here."""

from billing.selectors.invoices import (
    TIME_BILLED_MODELS,
    approved_unbilled_time,
    invoice_document,
    invoice_filter,
    invoice_get_for_user,
    invoice_list_visible_to,
    invoice_totals,
    project_profitability,
)
from billing.selectors.payments import (
    STUCK_AFTER,
    attempts_needing_attention,
    invoice_payments,
    payment_list_visible_to,
)

__all__ = [
    "STUCK_AFTER",
    "TIME_BILLED_MODELS",
    "approved_unbilled_time",
    "attempts_needing_attention",
    "invoice_document",
    "invoice_filter",
    "invoice_get_for_user",
    "invoice_list_visible_to",
    "invoice_payments",
    "invoice_totals",
    "payment_list_visible_to",
    "project_profitability",
]
