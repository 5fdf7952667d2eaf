"""Reads of billing (see STYLE.md), a package by area: invoices, payments, and what the
scheduled sweeps find due. Import from here."""

from billing.selectors.due import (
    CHECKOUT_LIFETIME,
    STUCK_AFTER,
    attempts_stuck,
    autopay_candidates,
    dunning_due,
    stripe_events_pending,
)
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
    attempts_needing_attention,
    invoice_payments,
    payment_list_visible_to,
)

__all__ = [
    "CHECKOUT_LIFETIME",
    "STUCK_AFTER",
    "TIME_BILLED_MODELS",
    "approved_unbilled_time",
    "attempts_needing_attention",
    "attempts_stuck",
    "autopay_candidates",
    "dunning_due",
    "invoice_document",
    "invoice_filter",
    "invoice_get_for_user",
    "invoice_list_visible_to",
    "invoice_payments",
    "invoice_totals",
    "payment_list_visible_to",
    "project_profitability",
    "stripe_events_pending",
]
