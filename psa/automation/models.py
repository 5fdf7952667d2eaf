"""The automation layer's models: what the zero-touch jobs may do (policies) and what each
run of a job did (job runs).

The tables kept their ``psa_`` names when these models moved here from the kernel app.
"""

from __future__ import annotations

from django.db import models

from psa.kernel.money import MAX_DECIMALS


class JobRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Finished with failures"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One run of a scheduled job: what it did, what it skipped, what failed and why."""

    job = models.CharField(max_length=80, db_index=True)
    status = models.CharField(
        max_length=10, choices=JobRunStatus.choices, default=JobRunStatus.RUNNING
    )
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # [{"item": "...", "error": "...", "traceback": "..."}], at most a few dozen kept.
    errors = models.JSONField(default=list, blank=True)
    # What the run left for a person, and why: [{"item": "...", "reason": "..."}], at most a
    # few hundred kept (the operations page lists what still waits from the data itself).
    waits = models.JSONField(default=list, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "psa_jobrun"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class InvoicingCalendar(models.TextChoices):
    MANUAL = "manual", "Manual (finance runs billing)"
    MONTHLY = "monthly", "Monthly, on a chosen day"
    WEEKLY = "weekly", "Weekly, on a chosen weekday"
    PROJECT_END = "project_end", "At project end"


class AutomationPolicy(models.Model):
    """What the zero-touch jobs may do, per legal entity, overridden per customer or project.

    The entity's row states every setting; a customer's or project's row states only what it
    overrides (NULL inherits). Resolution is field by field: project, then customer, then
    entity (psa.automation.policies).
    """

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.CASCADE, related_name="automation_policies"
    )
    customer = models.ForeignKey(
        "crm.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    auto_approve = models.BooleanField(null=True, blank=True)
    release_milestones = models.BooleanField(null=True, blank=True)
    invoicing = models.CharField(  # noqa: DJ001 - NULL means "inherit", unlike ""
        max_length=12, choices=InvoicingCalendar.choices, null=True, blank=True
    )
    # Monthly: the day of the month (1-28) the run bills through the day before. Weekly: the
    # weekday (0 = Monday).
    invoice_day = models.PositiveSmallIntegerField(null=True, blank=True)
    auto_issue = models.BooleanField(null=True, blank=True)
    # Drafts with a total above this stay for finance to review (NULL: no limit).
    review_above = models.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, null=True, blank=True
    )
    auto_send = models.BooleanField(null=True, blank=True)
    autopay = models.BooleanField(null=True, blank=True)
    dunning = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "psa_automationpolicy"
        verbose_name_plural = "automation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity"],
                condition=models.Q(customer__isnull=True, project__isnull=True),
                name="automation_one_per_entity",
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(project__isnull=True),
                name="automation_one_per_customer",
            ),
            models.UniqueConstraint(fields=["project"], name="automation_one_per_project"),
            # The entity's row is complete: every setting stated.
            models.CheckConstraint(
                condition=~models.Q(customer__isnull=True, project__isnull=True)
                | models.Q(
                    auto_approve__isnull=False,
                    release_milestones__isnull=False,
                    invoicing__isnull=False,
                    auto_issue__isnull=False,
                    auto_send__isnull=False,
                    autopay__isnull=False,
                    dunning__isnull=False,
                ),
                name="automation_entity_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(invoice_day__isnull=True)
                | models.Q(invoice_day__gte=0, invoice_day__lte=28),
                name="automation_invoice_day_range",
            ),
        ]

    def __str__(self) -> str:
        scope = self.project_id or self.customer_id or self.legal_entity_id
        return f"Automation policy ({scope})"
