"""Invoices, billing runs and payments (see the Bill and Cash issues)."""
