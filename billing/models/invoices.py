"""Invoices, credit notes, their numbers and taxes, and the links that make double billing
impossible.

Rounding rule (one, everywhere): each line's net is rounded half-up to the currency's minor
unit; each line's tax is its rounded net times its rate, rounded half-up; the invoice's
subtotal, tax and total are plain sums of those rounded line figures, and the tax summary groups
the same line taxes by rate. So lines, summary and total always agree to the cent.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from psa.kernel.money import MAX_DECIMALS
from psa.kernel.validators import currency_check, currency_code

AMOUNT = {"max_digits": 15, "decimal_places": MAX_DECIMALS}


class TaxRate(models.Model):
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="tax_rates"
    )
    name = models.CharField(max_length=60)
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="0.2000 for 20 %")
    reverse_charge = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

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


# Shown (not stored) for an invoice settled by a write-off: ``Invoice.status_key``.
WRITTEN_OFF = "written_off"

# An invoice that can still be paid.
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


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

    @property
    def written_off_amount(self) -> Decimal:
        """What was written off (bad debt) of this invoice: 0 if nothing. Lists annotate it
        (``written_off_total``) so each row costs no query."""
        annotated = getattr(self, "written_off_total", None)
        if annotated is not None:
            return annotated
        if self.pk is None:
            return Decimal(0)
        return self.write_offs.aggregate(s=models.Sum("amount"))["s"] or Decimal(0)

    @property
    def written_off(self) -> bool:
        """Settled by a write-off, not by payment: shown as "Written off", never "Paid"."""
        return self.status == InvoiceStatus.PAID and self.written_off_amount > 0

    @property
    def status_key(self) -> str:
        """The status as pages, the API and the PDF show it: ``written_off`` for an invoice
        whose rest was written off (its stored status is paid: nothing is due)."""
        return WRITTEN_OFF if self.written_off else self.status

    @property
    def status_label(self) -> str:
        return "Written off" if self.written_off else self.get_status_display()

    @property
    def nothing_to_pay(self) -> bool:
        """An invoice (not a credit note) of 0.00: settled at issue, its e-mail and PDF are a
        receipt, never a request to pay; it is never dunned or charged."""
        return self.kind == InvoiceKind.INVOICE and self.total == 0


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
    # For time: the same WIP in the functional currency, the sum of the entries' accrued
    # shares; the invoice relieves exactly this and books the difference to its own rate as
    # FX. Empty on lines from before per-entry accruals (relieved at the invoice's rate).
    accrued_functional = models.DecimalField(**AMOUNT, null=True, blank=True)
    # The service item the line sells, with its accounting as billed: the revenue role its
    # revenue posts to and its deferral rule ("none", "service_period", "on_milestone").
    # Blank: the line kind's own treatment (billing.services.issuing).
    service_item = models.ForeignKey(
        "projects.ServiceItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revenue_role = models.CharField(max_length=50, blank=True, default="", db_default="")
    deferral_rule = models.CharField(max_length=20, blank=True, default="", db_default="")
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
