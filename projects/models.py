"""Projects: who works on what, for whom, billed how."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from psa.kernel.money import MAX_DECIMALS
from psa.kernel.validators import currency_check, currency_code


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


# Words the API's URLs use beside a project's code (``/api/v1/projects/milestones/``): a
# project may not be coded so, or its own URL would name the other resource.
RESERVED_PROJECT_CODES = frozenset({"milestones", "service-items"})


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
    budget_amount = models.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, null=True, blank=True
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="managed_projects"
    )
    status = models.CharField(
        max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE
    )
    # Anyone may log time here, not only the people assigned (internal or pooled work).
    allow_all_users = models.BooleanField(default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Assignment", related_name="projects"
    )
    # The opportunity whose win created the project. The link lives here, on the higher floor:
    # crm sits below projects and must not point up at it; crm reads it back as the reverse
    # relation ``opportunity.project`` (absent when there is none).
    opportunity = models.OneToOneField(
        "crm.Opportunity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="project",
        help_text="The opportunity whose win created this project.",
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
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "person"], name="assignment_unique_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.project.code}"


class Task(models.Model):
    """A line of work on a project that time is logged against."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    billable = models.BooleanField(default=True, help_text="The default for new time entries.")
    active = models.BooleanField(default=True)
    note_required = models.BooleanField(
        default=False,
        help_text="Time on this task is approved by policy only with a note saying what was done.",
    )

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="task_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class RateLevel(models.TextChoices):
    """From most to least specific: the first that has a rate in force wins."""

    PERSON_ON_PROJECT = "person_on_project", "Person on project"
    ROLE_ON_PROJECT = "role_on_project", "Role on project"
    PROJECT = "project", "Project default"
    CUSTOMER = "customer", "Customer"
    FIRM = "firm", "Firm default"


class RateCard(models.Model):
    """One hourly rate, at one level, in force from ``effective_from`` to ``effective_to``
    (inclusive; open-ended when empty). A change of rate is a new line, never an edit of the
    old one, so time already logged keeps the rate of its date."""

    level = models.CharField(max_length=20, choices=RateLevel.choices)
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.CASCADE, related_name="rates", null=True, blank=True
    )
    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.CASCADE, related_name="rates", null=True, blank=True
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="rates", null=True, blank=True
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="rates",
        null=True,
        blank=True,
    )
    role = models.CharField(max_length=100, blank=True)
    rate = models.DecimalField(max_digits=11, decimal_places=MAX_DECIMALS)
    currency = models.CharField(max_length=3, validators=[currency_code])
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["level", "-effective_from"]
        indexes = [
            models.Index(fields=["project", "level"]),
            models.Index(fields=["customer", "level"]),
            models.Index(fields=["legal_entity", "level"]),
        ]
        constraints = [
            currency_check("currency", "rate_card_currency_iso"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="rate_card_rate_gte_0"),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="rate_card_ends_after_start",
            ),
            # Each level names exactly the keys it needs, so resolution can never be ambiguous
            # about which kind of line it found.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        level=RateLevel.PERSON_ON_PROJECT,
                        project__isnull=False,
                        person__isnull=False,
                        role="",
                        customer__isnull=True,
                        legal_entity__isnull=True,
                    )
                    | (
                        models.Q(
                            level=RateLevel.ROLE_ON_PROJECT,
                            project__isnull=False,
                            person__isnull=True,
                            customer__isnull=True,
                            legal_entity__isnull=True,
                        )
                        & ~models.Q(role="")
                    )
                    | models.Q(
                        level=RateLevel.PROJECT,
                        project__isnull=False,
                        person__isnull=True,
                        role="",
                        customer__isnull=True,
                        legal_entity__isnull=True,
                    )
                    | models.Q(
                        level=RateLevel.CUSTOMER,
                        customer__isnull=False,
                        project__isnull=True,
                        person__isnull=True,
                        role="",
                        legal_entity__isnull=True,
                    )
                    | models.Q(
                        level=RateLevel.FIRM,
                        legal_entity__isnull=False,
                        customer__isnull=True,
                        project__isnull=True,
                        person__isnull=True,
                        role="",
                    )
                ),
                name="rate_card_level_keys",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.rate} {self.currency} from {self.effective_from}"


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    REACHED = "reached", "Reached"
    INVOICED = "invoiced", "Invoiced"


class DeferralRule(models.TextChoices):
    NONE = "none", "None (revenue when invoiced)"
    SERVICE_PERIOD = "service_period", "Over the service period"
    ON_MILESTONE = "on_milestone", "On milestone"


class ServiceItem(models.Model):
    """A product that knows its own accounting: revenue account, deferral, tax category."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    revenue_account_role = models.CharField(
        max_length=50,
        default="revenue_services",
        help_text="An account role, e.g. revenue_services.",
    )
    deferral_rule = models.CharField(
        max_length=20, choices=DeferralRule.choices, default=DeferralRule.NONE
    )
    tax_category = models.CharField(max_length=50, default="standard")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=15, decimal_places=MAX_DECIMALS)
    planned_date = models.DateField()
    status = models.CharField(
        max_length=10, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED
    )
    service_item = models.ForeignKey(
        ServiceItem, on_delete=models.PROTECT, null=True, blank=True, related_name="milestones"
    )
    reached_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["project", "planned_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="milestone_amount_gte_0"
            ),
            models.UniqueConstraint(fields=["project", "name"], name="milestone_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.planned_date})"


class ProjectTemplate(models.Model):
    """A ready-made plan: winning an opportunity turns it into a project with no re-keying."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    billing_model = models.CharField(
        max_length=20, choices=BillingModel.choices, default=BillingModel.TIME_AND_MATERIALS
    )
    budget_hours = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    budget_amount = models.DecimalField(
        max_digits=15, decimal_places=MAX_DECIMALS, null=True, blank=True
    )
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateTask(models.Model):
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    billable = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "name"], name="template_task_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TemplateMilestone(models.Model):
    template = models.ForeignKey(
        ProjectTemplate, on_delete=models.CASCADE, related_name="milestones"
    )
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=15, decimal_places=MAX_DECIMALS)
    day_offset = models.PositiveIntegerField(help_text="Days after the project's start date.")
    service_item = models.ForeignKey(
        ServiceItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["day_offset", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="template_milestone_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (+{self.day_offset} days)"


class TemplateRate(models.Model):
    """A rate the new project starts with: its default (no role) or a role's rate."""

    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="rates")
    role = models.CharField(max_length=100, blank=True, help_text="Empty: the project default.")
    rate = models.DecimalField(max_digits=11, decimal_places=MAX_DECIMALS)

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="template_rate_gte_0"),
            models.UniqueConstraint(fields=["template", "role"], name="template_rate_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.role or 'Default'}: {self.rate}"


class OpportunityPlan(models.Model):
    """The template an open opportunity's project will start from when it is won.

    Chosen while the deal is open (``project_template`` in the crm API and pages). It is
    projects' row, not a column of ``crm.Opportunity``, because crm is a lower floor and must
    not reference projects: crm reaches it through ``crm.hooks`` (filled by
    ``ProjectsConfig.ready``) and reads it back as ``opportunity.plan``. Deleting the template
    deletes the plan, as the old nullable column was cleared (SET_NULL).
    """

    opportunity = models.OneToOneField(
        "crm.Opportunity", on_delete=models.CASCADE, related_name="plan"
    )
    template = models.ForeignKey(
        ProjectTemplate,
        on_delete=models.CASCADE,
        related_name="opportunity_plans",
        help_text="The plan the project starts from when the opportunity is won.",
    )

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.template}"
