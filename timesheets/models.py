"""Time logged by people on projects."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from psa.kernel.money import MAX_DECIMALS
from psa.kernel.validators import currency_check, currency_code


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TimeEntryQuerySet(models.QuerySet["TimeEntry"]):
    def for_person(self, person: object) -> TimeEntryQuerySet:
        return self.filter(person=person)

    def in_period(self, start: object, end: object) -> TimeEntryQuerySet:
        """Entries dated from ``start`` to ``end`` inclusive."""
        return self.filter(date__gte=start, date__lte=end)


class TimeEntry(models.Model):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries"
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="time_entries"
    )
    task = models.ForeignKey(
        "projects.Task",
        on_delete=models.PROTECT,
        related_name="time_entries",
        null=True,
        blank=True,
    )
    date = models.DateField()
    hours = models.DecimalField(max_digits=4, decimal_places=2)
    note = models.TextField(blank=True)
    billable = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    rejection_reason = models.TextField(blank=True)
    # Set by billing when the entry goes on an invoice line. From then on the row is frozen:
    # a trigger (migration 0002) refuses any UPDATE or DELETE, even in raw SQL.
    billed_at = models.DateTimeField(null=True, blank=True)
    # Set by the approval that accrued the entry's work in progress: its share of the posted
    # accrual, in the project's currency and in the entity's functional currency (the shares
    # of one posting sum exactly to it). Billing relieves WIP by exactly these amounts.
    accrued_amount = models.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, null=True, blank=True
    )
    accrued_functional = models.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = TimeEntryQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        verbose_name_plural = "time entries"
        indexes = [
            models.Index(fields=["person", "date"]),
            models.Index(fields=["project", "status"]),
        ]
        constraints = [
            # Hours are a positive Decimal of at most one day.
            models.CheckConstraint(
                condition=models.Q(hours__gt=Decimal(0)) & models.Q(hours__lte=Decimal(24)),
                name="time_entry_hours_range",
            ),
            # One cell of the week grid is one row: person, project, task (or none), day.
            models.UniqueConstraint(
                fields=["person", "project", "task", "date"],
                name="time_entry_unique_cell",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(rejection_reason=""),
                name="time_entry_rejected_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.date} {self.hours} h on {self.project.code}"


class ExpenseCategory(models.TextChoices):
    TRAVEL = "travel", "Travel"
    ACCOMMODATION = "accommodation", "Accommodation"
    MEALS = "meals", "Meals"
    SOFTWARE = "software", "Software"
    OTHER = "other", "Other"


class Expense(models.Model):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="expenses"
    )
    project = models.ForeignKey(
        "projects.Project", on_delete=models.PROTECT, related_name="expenses"
    )
    date = models.DateField()
    amount = models.DecimalField(max_digits=13, decimal_places=MAX_DECIMALS)
    currency = models.CharField(max_length=3, validators=[currency_code])
    category = models.CharField(max_length=20, choices=ExpenseCategory.choices)
    description = models.CharField(max_length=200, blank=True)
    billable = models.BooleanField(default=True)
    markup_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    receipt = models.FileField(upload_to="receipts/%Y/%m/", blank=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            currency_check("currency", "expense_currency_iso"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="expense_amount_gt_0"),
            models.CheckConstraint(
                condition=models.Q(markup_percent__gte=0) & models.Q(markup_percent__lte=100),
                name="expense_markup_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency} {self.get_category_display()}"


class Holiday(models.Model):
    """A public holiday of one legal entity: no time on it unless a policy allows it."""

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "date"], name="holiday_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ApprovalPolicy(models.Model):
    """Rules under which a submitted week approves itself: the legal entity's default, with
    a customer's or a project's override.

    The entity's row states every rule; an override states only what it changes (NULL
    inherits). Resolution is rule by rule: project, then customer, then entity
    (``timesheets.services.policies.approval_policy_resolve``). An entity without a row of its
    own follows the built-in default (``ENTITY_DEFAULTS`` there).
    """

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity",
        on_delete=models.CASCADE,
        related_name="approval_policies",
        null=True,
        blank=True,
    )
    project = models.OneToOneField(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="approval_policy",
        null=True,
        blank=True,
    )
    customer = models.OneToOneField(
        "crm.Customer",
        on_delete=models.CASCADE,
        related_name="approval_policy",
        null=True,
        blank=True,
    )
    enabled = models.BooleanField(null=True, blank=True)
    # NULL on the entity's row: no limit; on an override: inherit.
    max_hours_per_day = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    max_hours_per_week = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    within_capacity = models.BooleanField(null=True, blank=True)
    note_required = models.BooleanField(null=True, blank=True)
    project_must_be_active = models.BooleanField(null=True, blank=True)
    within_budget = models.BooleanField(null=True, blank=True)
    allow_weekends = models.BooleanField(null=True, blank=True)
    allow_holidays = models.BooleanField(null=True, blank=True)
    review_first_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name_plural = "approval policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    project__isnull=False, customer__isnull=True, legal_entity__isnull=True
                )
                | models.Q(project__isnull=True, customer__isnull=False, legal_entity__isnull=True)
                | models.Q(project__isnull=True, customer__isnull=True, legal_entity__isnull=False),
                name="approval_policy_one_scope",
            ),
            models.UniqueConstraint(fields=["legal_entity"], name="approval_policy_one_per_entity"),
            # The entity's row is complete: every switch stated (hour limits may be blank).
            models.CheckConstraint(
                condition=models.Q(legal_entity__isnull=True)
                | models.Q(
                    enabled__isnull=False,
                    within_capacity__isnull=False,
                    note_required__isnull=False,
                    project_must_be_active__isnull=False,
                    within_budget__isnull=False,
                    allow_weekends__isnull=False,
                    allow_holidays__isnull=False,
                    review_first_weeks__isnull=False,
                ),
                name="approval_policy_entity_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Approval policy for {self.project or self.customer or self.legal_entity}"
