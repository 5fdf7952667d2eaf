"""Billing runs and the time-entry links that make billing an hour twice impossible."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billing.models.invoices import InvoiceLine


class TimeEntryBilling(models.Model):
    """Which invoice line bills a time entry. While the link is active, the entry is on that
    line and no other: a partial unique index makes a second active link impossible, whoever
    writes it and however concurrently. A credit note releases the link (the entry stays frozen
    for ever, but may be billed again)."""

    time_entry = models.ForeignKey(
        "timesheets.TimeEntry", on_delete=models.PROTECT, related_name="billings"
    )
    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="time_links")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["time_entry"],
                condition=models.Q(released_at__isnull=True),
                name="time_entry_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"entry {self.time_entry_id} → line {self.line_id}"


class BillingRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BillingRun(models.Model):
    legal_entity = models.ForeignKey("ledger.LegalEntity", on_delete=models.PROTECT)
    period_end = models.DateField()
    customer = models.ForeignKey("crm.Customer", null=True, blank=True, on_delete=models.PROTECT)
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(
        max_length=10, choices=BillingRunStatus.choices, default=BillingRunStatus.RUNNING
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    invoices_created = models.PositiveIntegerField(default=0)
    entries_billed = models.PositiveIntegerField(default=0)
    # Invoices the run created but could not issue (one customer's failure never stops the
    # others'): [{"invoice": id, "customer": name, "reason": text}]; they stay drafts.
    issue_failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Billing run {self.pk} through {self.period_end}"
