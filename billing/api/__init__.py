"""The REST API of billing: invoices and runs, payments, usage."""
