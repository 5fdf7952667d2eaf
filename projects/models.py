"""Projects: who works on what, for whom, billed how."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from psa.validators import currency_check, currency_code


class BillingModel(models.TextChoices):
    TIME_AND_MATERIALS = "time_and_materials", "Time & materials"
    FIXED_PRICE = "fixed_price", "Fixed price (milestones)"
    RETAINER = "retainer", "Retainer"
    SUBSCRIPTION = "subscription", "Subscription"
    PREPAID_FUND = "prepaid_fund", "Prepaid fund"


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ProjectQuerySet(models.QuerySet["Project"]):
    def managed_by(self, user: object) -> ProjectQuerySet:
        return self.filter(manager=user)

    def open(self) -> ProjectQuerySet:
        return self.filter(status__in=[ProjectStatus.PLANNED, ProjectStatus.ACTIVE])


class Project(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="projects")
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="projects"
    )
    billing_model = models.CharField(
        max_length=20, choices=BillingModel.choices, default=BillingModel.TIME_AND_MATERIALS
    )
    currency = models.CharField(max_length=3, validators=[currency_code])
    budget_hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    budget_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="managed_projects"
    )
    status = models.CharField(
        max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Assignment", related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            currency_check("currency", "project_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(budget_hours__isnull=True) | models.Q(budget_hours__gte=0),
                name="project_budget_hours_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(budget_amount__isnull=True) | models.Q(budget_amount__gte=0),
                name="project_budget_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="project_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Assignment(models.Model):
    """A person on a project, in a role, with planned hours."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(max_length=100, blank=True)
    planned_hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "person"], name="assignment_unique_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.project.code}"
