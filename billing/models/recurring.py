"""Billing beyond time & materials: terms, recurring fees, usage, schedule, milestone and
expense links, prepaid fund applications and revenue recognition."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from billing.models.invoices import AMOUNT, Invoice, InvoiceLine


class BillingTerms(models.Model):
    """How a project bills beyond its billing model's defaults (one row per project, optional)."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="billing_terms"
    )
    # Time & materials: never bill more than this for the project's time, over its life. The
    # excess becomes a visible write-down line; its hours are reported as unbilled-over-cap.
    cap_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    # Fixed price: bill a milestone on its planned date even if it is not reached yet (its
    # revenue is deferred until it is).
    milestones_on_planned_date = models.BooleanField(default=False)
    # Prepaid fund: when the balance would fall below the threshold, the run adds a top-up.
    fund_threshold = models.DecimalField(**AMOUNT, null=True, blank=True)
    fund_top_up = models.DecimalField(**AMOUNT, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing terms"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cap_amount__isnull=True) | models.Q(cap_amount__gte=0),
                name="terms_cap_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(fund_top_up__isnull=True) | models.Q(fund_top_up__gt=0),
                name="terms_top_up_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(fund_threshold__isnull=True) | models.Q(fund_threshold__gte=0),
                name="terms_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Billing terms of {self.project_id}"


class FeeKind(models.TextChoices):
    RETAINER = "retainer", "Retainer"
    SUBSCRIPTION = "subscription", "Subscription"


class PeriodAnchor(models.TextChoices):
    CALENDAR_MONTH = "calendar_month", "Calendar periods"
    ANNIVERSARY = "anniversary", "From the start date"


class RecurringFee(models.Model):
    """A fee billed in advance per period: a retainer (with included hours and an overage rate,
    overage billed in arrears) or a subscription line with a quantity per period."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="recurring_fees"
    )
    kind = models.CharField(max_length=12, choices=FeeKind.choices)
    description = models.CharField(max_length=200)
    service_item = models.ForeignKey(
        "projects.ServiceItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal(1), help_text="Unless set per period."
    )
    period_months = models.PositiveSmallIntegerField(default=1)
    period_anchor = models.CharField(
        max_length=16,
        choices=PeriodAnchor.choices,
        default=PeriodAnchor.CALENDAR_MONTH,
        help_text=(
            "Calendar periods: calendar months (or quarters, half-years, years from 1 January);"
            " a first or last period shorter than a whole one is billed pro rata by days (e.g."
            " 11 to 31 December is 21/31 of the monthly fee). From the start date: each period"
            " runs from the start date's day of the month, whole fees only."
        ),
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    included_hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    overage_rate = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["project", "start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_months__in=[1, 3, 6, 12]), name="fee_period_months"
            ),
            models.CheckConstraint(
                condition=models.Q(period_anchor__in=["calendar_month", "anniversary"]),
                name="fee_period_anchor_known",
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="fee_price_gte_0"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="fee_quantity_gte_0"),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="fee_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="retainer")
                | models.Q(included_hours__isnull=True, overage_rate__isnull=True),
                name="fee_overage_only_retainer",
            ),
            # Overage is measured against the project's time: one retainer per project.
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(kind="retainer"), name="one_retainer"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class UsageQuantity(models.Model):
    """The quantity a subscription bills for one period (e.g. devices), set through a service
    (and the API) before the period is billed."""

    fee = models.ForeignKey(RecurringFee, on_delete=models.CASCADE, related_name="usage")
    period_start = models.DateField()
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["fee", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["fee", "period_start"], name="usage_once_per_period"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="usage_quantity_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fee_id} {self.period_start}: {self.quantity}"


class _Link(models.Model):
    """Which invoice line bills a thing. While active (not released by a credit note) the thing
    is on that line and no other: each subclass has a partial unique index on it."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class ScheduleBilling(_Link):
    PART_FEE = "fee"
    PART_OVERAGE = "overage"

    fee = models.ForeignKey(RecurringFee, on_delete=models.PROTECT, related_name="billings")
    period_start = models.DateField()
    part = models.CharField(max_length=8)  # "fee" (in advance) or "overage" (in arrears)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fee", "period_start", "part"],
                condition=models.Q(released_at__isnull=True),
                name="schedule_period_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"fee {self.fee_id} {self.period_start} {self.part} → line {self.line_id}"


class MilestoneBilling(_Link):
    milestone = models.ForeignKey(
        "projects.Milestone", on_delete=models.PROTECT, related_name="billings"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(released_at__isnull=True),
                name="milestone_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"milestone {self.milestone_id} → line {self.line_id}"


class ExpenseBilling(_Link):
    expense = models.ForeignKey(
        "timesheets.Expense", on_delete=models.PROTECT, related_name="billings"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["expense"],
                condition=models.Q(released_at__isnull=True),
                name="expense_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"expense {self.expense_id} → line {self.line_id}"


class FundApplication(models.Model):
    """A prepaid fund drawn down against an invoice, at its issue (once per invoice and fund)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="fund_applied")
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the invoice is voided: the amount is back in the fund (and posted back).
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fund_applied_gt_0"),
            models.UniqueConstraint(fields=["invoice", "project"], name="fund_applied_once"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from the fund of {self.project_id} to {self.invoice_id}"


class Recognition(models.Model):
    """Revenue of a recurring line recognised through ``date`` (posted once per line and day)."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="recognitions")
    date = models.DateField()
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line", "date"], name="recognition_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"line {self.line_id} {self.date}: {self.amount}"


class OverageAccrual(models.Model):
    """Unbilled overage of an ended retainer period accrued as work in progress (Dr unbilled
    revenue, Cr services revenue) on ``date``, the period's last day. The overage lines that
    bill the period relieve it (their ``accrued``)."""

    fee = models.ForeignKey(RecurringFee, on_delete=models.PROTECT, related_name="accruals")
    period_start = models.DateField()
    date = models.DateField()
    hours = models.DecimalField(max_digits=9, decimal_places=2)
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fee", "period_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="overage_accrual_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"fee {self.fee_id} {self.period_start}: {self.amount} accrued"
