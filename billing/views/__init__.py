"""The HTML pages of billing: invoices, the public pay page, payments."""
