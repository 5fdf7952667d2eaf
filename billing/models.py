"""Invoices, credit notes, their numbers and taxes, and the links that make double billing
impossible.

Rounding rule (one, everywhere): each line's net is rounded half-up to the currency's minor
unit; each line's tax is its rounded net times its rate, rounded half-up; the invoice's
subtotal, tax and total are plain sums of those rounded line figures, and the tax summary groups
the same line taxes by rate. So lines, summary and total always agree to the cent.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from psa.kernel.validators import currency_check, currency_code

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class TaxRate(models.Model):
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="tax_rates"
    )
    name = models.CharField(max_length=60)
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="0.2000 for 20 %")
    reverse_charge = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["legal_entity", "-is_default", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate__gte=0) & models.Q(rate__lt=1), name="tax_rate_range"
            ),
            models.UniqueConstraint(
                fields=["legal_entity"],
                condition=models.Q(is_default=True),
                name="tax_rate_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate * 100:.2f} %)"


class BillingSettings(models.Model):
    """How one legal entity numbers and groups its invoices."""

    legal_entity = models.OneToOneField(
        "ledger.LegalEntity", on_delete=models.CASCADE, related_name="billing_settings"
    )
    # Placeholders: {year} and {seq}, with a format spec, e.g. {seq:05d}.
    invoice_number_pattern = models.CharField(max_length=40, default="INV-{year}-{seq:05d}")
    credit_note_number_pattern = models.CharField(max_length=40, default="CN-{year}-{seq:05d}")
    invoice_per_project = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Billing settings of {self.legal_entity}"


class NumberSequence(models.Model):
    """The next number per entity, kind and year. Taken under a row lock at issue, in the
    issuing transaction: a rollback gives the number back, so numbers have no gaps."""

    legal_entity = models.ForeignKey("ledger.LegalEntity", on_delete=models.PROTECT)
    kind = models.CharField(max_length=12)  # "invoice" or "credit_note"
    year = models.PositiveSmallIntegerField()
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "kind", "year"], name="number_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity_id} {self.kind} {self.year}: next {self.next_number}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(models.Model):
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="invoices"
    )
    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="invoices")
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    # NULL until issued: drafts have no number, and NULLs never collide in the unique index.
    number = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    currency = models.CharField(max_length=3, validators=[currency_code])
    # Functional units per one unit of the invoice currency, fixed at issue.
    fx_rate = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(1))
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    subtotal = models.DecimalField(**AMOUNT, default=Decimal(0))
    tax_total = models.DecimalField(**AMOUNT, default=Decimal(0))
    total = models.DecimalField(**AMOUNT, default=Decimal(0))
    amount_paid = models.DecimalField(**AMOUNT, default=Decimal(0))
    reverse_charge_note = models.CharField(max_length=300, blank=True)
    # A credit note points at the invoice it cancels; an invoice has at most one.
    credits = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note"
    )
    billing_run = models.ForeignKey(
        "BillingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    # Unguessable (>= 128 bits): the customer's pay link.
    pay_token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Rendered by a Celery task after issue; regenerated on demand when missing.
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [models.Index(fields=["legal_entity", "status", "due_date"])]
        constraints = [
            currency_check("currency", "invoice_currency_iso"),
            models.UniqueConstraint(
                fields=["legal_entity", "number"], name="invoice_number_unique"
            ),
            # Issued documents have a number and dates; drafts have none.
            models.CheckConstraint(
                condition=models.Q(status="draft", number__isnull=True)
                | (
                    ~models.Q(status="draft")
                    & models.Q(number__isnull=False, issue_date__isnull=False)
                ),
                name="invoice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="credit_note", credits__isnull=False)
                | models.Q(kind="invoice", credits__isnull=True),
                name="credit_note_references_invoice",
            ),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") + models.F("tax_total")),
                name="invoice_total_is_sum",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid


class LineKind(models.TextChoices):
    TIME = "time", "Time"
    EXPENSE = "expense", "Expense"
    MILESTONE = "milestone", "Milestone"
    RECURRING = "recurring", "Recurring fee"
    USAGE = "usage", "Usage"
    OVERAGE = "overage", "Overage"
    FUND_DRAWDOWN = "fund_drawdown", "Fund draw-down"
    FUND_TOP_UP = "fund_top_up", "Prepaid fund top-up"
    ADJUSTMENT = "adjustment", "Adjustment"
    WRITE_DOWN = "write_down", "Write-down to cap"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    net = models.DecimalField(**AMOUNT)
    tax_rate = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT)
    tax_rate_value = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal(0))
    tax = models.DecimalField(**AMOUNT, default=Decimal(0))
    # For time: the work in progress these hours were accrued at (the invoice credits it).
    # On a credit note's recurring line: the part of the fee already recognised as revenue.
    accrued = models.DecimalField(**AMOUNT, default=Decimal(0))
    # Recurring fees: the service period the fee pays for (deferred, then recognised daily).
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True)
    # A write-down to a T&M cap: the hours its amount stands for (reported unbilled-over-cap).
    written_down_hours = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(
                condition=models.Q(service_start__isnull=True, service_end__isnull=True)
                | models.Q(service_end__gte=models.F("service_start")),
                name="invoice_line_service_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.net}"


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

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Billing run {self.pk} through {self.period_end}"


# --- billing models beyond time & materials ------------------------------------------------------


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


# --- payments -----------------------------------------------------------------------------------
#
# A payment is recorded once: one Payment per attempt (unique), one per Stripe payment intent
# (unique), whoever confirms it first (the return redirect or the webhook). See billing/payments.py.


class StripeCustomer(models.Model):
    """The Stripe customer object that holds a customer's saved cards."""

    customer = models.OneToOneField(
        "crm.Customer", on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_customer_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_customer_id


class PaymentMethod(models.Model):
    """A card saved at Stripe for off-session charges, with the customer's consent to autopay.

    No consent (``autopay_consent_at`` NULL) means the card is never charged off-session."""

    customer = models.ForeignKey(
        "crm.Customer", on_delete=models.PROTECT, related_name="payment_methods"
    )
    stripe_payment_method_id = models.CharField(max_length=64, unique=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    autopay_consent_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.CharField(max_length=300, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class AttemptKind(models.TextChoices):
    CHECKOUT = "checkout", "Card (pay page)"
    OFF_SESSION = "off_session", "Autopay"


class AttemptStatus(models.TextChoices):
    CREATED = "created", "Created"
    PROCESSING = "processing", "Processing"
    REQUIRES_ACTION = "requires_action", "Requires action"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


IN_FLIGHT = [AttemptStatus.CREATED, AttemptStatus.PROCESSING, AttemptStatus.REQUIRES_ACTION]


class PaymentAttempt(models.Model):
    """One try to collect an invoice by card. Its idempotency key is written (and committed)
    before Stripe is called, so a retried task or a crashed worker re-sends the same key and
    Stripe charges at most once."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=AttemptKind.choices)
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED
    )
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3, validators=[currency_code])
    idempotency_key = models.CharField(max_length=80, unique=True)
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checkout_session_id = models.CharField(max_length=80, null=True, blank=True, unique=True)
    payment_intent_id = models.CharField(max_length=80, null=True, blank=True, unique=True)
    # The customer ticked "charge this card automatically for future invoices".
    save_card = models.BooleanField(default=False)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # Declined autopay: the sweep tries again from then on (NULL: no retry planned).
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # The failure's follow-up (retry plan, e-mail, finance notice) was done: claimed once.
    followed_up_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="attempt_number_unique"),
            # P1: at most one attempt per invoice that may still take money.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(status__in=IN_FLIGHT),
                name="attempt_one_in_flight",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="attempt_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} attempt {self.number} ({self.status})"


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card (Stripe)"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"


class Payment(models.Model):
    """Money received for an invoice. ``applied`` settles the invoice; the rest of ``amount``
    (an overpayment) became customer credit."""

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethodKind.choices)
    amount = models.DecimalField(**AMOUNT)
    applied = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=Decimal(0))
    currency = models.CharField(max_length=3, validators=[currency_code])
    fx_rate = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(1))
    received_on = models.DateField()
    reference = models.CharField(max_length=200, blank=True)
    attempt = models.OneToOneField(
        PaymentAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="payment"
    )
    payment_intent_id = models.CharField(max_length=80, null=True, blank=True, unique=True)
    refunded = models.DecimalField(**AMOUNT, default=Decimal(0))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(applied__gte=0, applied__lte=models.F("amount")),
                name="payment_applied_range",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded__gte=0, refunded__lte=models.F("amount")),
                name="payment_refunded_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.invoice}"


class CustomerCredit(models.Model):
    """Movements of a customer's credit (overpayments in, applications out); the balance is
    their sum per currency."""

    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="credits")
    currency = models.CharField(max_length=3, validators=[currency_code])
    amount = models.DecimalField(**AMOUNT)  # + credit received, - credit used
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_uses"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="credit_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} credit of {self.customer_id}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    number = models.PositiveIntegerField()
    amount = models.DecimalField(**AMOUNT)
    status = models.CharField(
        max_length=12, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    via = models.CharField(max_length=8, default="stripe")  # "stripe" or "bank"
    idempotency_key = models.CharField(max_length=80, unique=True)
    stripe_refund_id = models.CharField(max_length=80, null=True, blank=True, unique=True)
    reason = models.CharField(max_length=300, blank=True)
    # Made in the Stripe dashboard, learnt from a webhook.
    external = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "number"], name="refund_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of payment {self.payment_id}"


class Dispute(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=80, unique=True)
    amount = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=Decimal(0))
    status = models.CharField(max_length=30)
    reason = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.stripe_dispute_id


class Payout(models.Model):
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="+"
    )
    stripe_payout_id = models.CharField(max_length=80, unique=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3, validators=[currency_code])
    status = models.CharField(max_length=20)
    arrival_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.stripe_payout_id


class WriteOff(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**AMOUNT)
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="write_off_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.amount} of {self.invoice}"


class StripeEvent(models.Model):
    """The webhook inbox: one row per Stripe event id, so each event is processed once."""

    id = models.CharField(max_length=80, primary_key=True)
    type = models.CharField(max_length=80)
    livemode = models.BooleanField(default=False)
    created = models.BigIntegerField(default=0)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="stripe_event_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class DunningLevel(models.Model):
    """A reminder sent ``days_from_due`` days after the due date (negative: before it)."""

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.CASCADE, related_name="dunning_levels"
    )
    name = models.CharField(max_length=60)
    days_from_due = models.SmallIntegerField()
    subject = models.CharField(max_length=200)
    # A Django template: {{ invoice }}, {{ customer }}, {{ amount_due }}, {{ pay_url }} …
    body = models.TextField()
    late_fee = models.DecimalField(**AMOUNT, default=Decimal(0))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["legal_entity", "days_from_due"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "days_from_due"], name="dunning_level_day_unique"
            ),
            models.CheckConstraint(condition=models.Q(late_fee__gte=0), name="dunning_fee_pos"),
        ]

    def __str__(self) -> str:
        return self.name


class DunningReminder(models.Model):
    """One reminder per level per invoice: the unique constraint is the claim."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT, related_name="reminders")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    late_fee_invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="reminder_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.level} for {self.invoice}"
