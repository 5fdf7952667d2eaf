"""The books. The ledger depends on no other app; others post to it through its services.

What must never happen is refused by PostgreSQL itself (migration 0003): an entry whose debits
and credits differ at commit, a line with both or neither side, a change to a posted entry or
line, a line added to an entry committed earlier, an entry dated on or before a lock date, a
hard lock moved back, and the same business event posted twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from psa.kernel.models import DeliveryAttempt, DeliveryMessage, DeliveryStatus
from psa.kernel.money import MAX_DECIMALS
from psa.kernel.validators import country_code, currency_check, currency_code, raster_logo

AMOUNT = {"max_digits": 21, "decimal_places": MAX_DECIMALS}
RATE = {"max_digits": 20, "decimal_places": 10}


class LegalEntity(models.Model):
    """A company of the firm that bills customers and keeps its own books."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, validators=[country_code])
    tax_id = models.CharField("tax id", max_length=50, blank=True)
    functional_currency = models.CharField(max_length=3, validators=[currency_code])
    bank_details = models.TextField(blank=True, help_text="Shown on invoices and the pay page.")
    # The invoice letterhead: a PNG or JPEG logo, and the paper the firm prints on.
    logo = models.FileField(
        upload_to="logos/", blank=True, help_text="PNG or JPEG, at most 4 megapixels.",
        validators=[raster_logo],
    )  # fmt: skip
    paper_size = models.CharField(
        max_length=6, choices=[("A4", "A4"), ("letter", "US Letter")], default="A4"
    )
    # Nothing may be posted on or before a lock date. Finance moves the soft lock; the hard
    # lock only ever moves forward.
    soft_lock_date = models.DateField(null=True, blank=True)
    hard_lock_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "legal entities"
        ordering = ["name"]
        constraints = [
            currency_check("functional_currency", "legal_entity_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(hard_lock_date__isnull=True)
                | models.Q(soft_lock_date__isnull=True)
                | models.Q(hard_lock_date__lte=models.F("soft_lock_date")),
                name="legal_entity_hard_lock_not_after_soft_lock",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def locked_through(self):
        """The last date on which nothing may be posted (the later of the two locks)."""
        dates = [d for d in (self.soft_lock_date, self.hard_lock_date) if d]
        return max(dates) if dates else None


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


# Debit-normal types: their balance is debits minus credits.
DEBIT_NORMAL = {AccountType.ASSET, AccountType.EXPENSE}


class AccountRole(models.TextChoices):
    """What an account is for. Posting rules speak in roles; each entity maps them to accounts."""

    BANK = "bank", "Bank"
    STRIPE_CLEARING = "stripe_clearing", "Stripe clearing"
    ACCOUNTS_RECEIVABLE = "accounts_receivable", "Accounts receivable"
    UNBILLED_REVENUE = "unbilled_revenue", "Unbilled revenue (WIP)"
    CUSTOMER_PREPAYMENTS = "customer_prepayments", "Customer prepayments"
    DEFERRED_REVENUE = "deferred_revenue", "Deferred revenue"
    TAX_PAYABLE = "tax_payable", "Tax payable"
    REVENUE_SERVICES = "revenue_services", "Services revenue"
    REVENUE_FIXED_FEE = "revenue_fixed_fee", "Fixed-fee revenue"
    REVENUE_RECURRING = "revenue_recurring", "Recurring revenue"
    PAYMENT_FEES = "payment_fees", "Payment fees"
    BAD_DEBT = "bad_debt", "Bad debt"
    FX_GAIN_LOSS = "fx_gain_loss", "FX gain/loss"
    ROUNDING = "rounding", "Rounding differences"
    INTERCOMPANY_RECEIVABLE = "intercompany_receivable", "Intercompany receivable"
    INTERCOMPANY_PAYABLE = "intercompany_payable", "Intercompany payable"


class Account(models.Model):
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["legal_entity", "code"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "code"], name="account_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RoleMapping(models.Model):
    """Which account plays each role for one legal entity (finance may remap)."""

    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.CASCADE, related_name="role_mappings"
    )
    role = models.CharField(max_length=40, choices=AccountRole.choices)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="roles")

    class Meta:
        ordering = ["legal_entity", "role"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "role"], name="role_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity.code}: {self.role} → {self.account.code}"


class JournalEntry(models.Model):
    """A posted, balanced, immutable entry. Corrections are reversing entries."""

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="entries")
    date = models.DateField()
    memo = models.CharField(max_length=300, blank=True)
    # The business event that caused it: unique per entity, so it posts once.
    event = models.CharField(max_length=60)
    source_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    rule_version = models.CharField(max_length=20)
    # Transaction currency of the document and its rate to the functional currency.
    currency = models.CharField(max_length=3)
    fx_rate = models.DecimalField(**RATE, default=Decimal(1))
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    # Set by a trigger to the inserting transaction's id: lines may only join an entry in the
    # transaction that created it.
    created_txid = models.BigIntegerField(null=True, editable=False)

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["legal_entity", "date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "source_type", "source_id", "event"],
                name="journal_entry_event_once",
            ),
            currency_check("currency", "journal_entry_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(fx_rate__gt=0), name="journal_entry_rate_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"JE {self.pk} {self.date} {self.event} {self.source_type}:{self.source_id}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    # Copies of the entry's entity and date, so reports aggregate lines without a join. The
    # insert trigger sets them from the entry whatever the writer says, and lines are
    # immutable, so they can never disagree with it.
    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="+", editable=False
    )
    date = models.DateField(editable=False)
    # Functional currency. Exactly one side is positive.
    debit = models.DecimalField(**AMOUNT, default=Decimal(0))
    credit = models.DecimalField(**AMOUNT, default=Decimal(0))
    # Transaction currency, signed (+ debit, - credit), and the rate used.
    currency = models.CharField(max_length=3)
    amount_currency = models.DecimalField(**AMOUNT)
    fx_rate = models.DecimalField(**RATE, default=Decimal(1))
    # Dimensions, as plain ids: the ledger depends on no other app.
    customer_id = models.BigIntegerField(null=True, blank=True)
    project_id = models.BigIntegerField(null=True, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True)
    # The open item this line belongs to (e.g. "invoice:42"), and when it falls due: AR aging
    # and per-document balances come from the ledger alone.
    document = models.CharField(max_length=64, blank=True)
    due_date = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Trial balance and balance sheet: an index-only scan, no join to the entries.
            models.Index(
                fields=["legal_entity", "account", "date"],
                include=["debit", "credit"],
                name="journal_line_balances",
            ),
            # AR aging and per-document balances.
            models.Index(
                fields=["account", "document"],
                include=["date", "due_date", "customer_id", "debit", "credit"],
                name="journal_line_open_items",
            ),
            models.Index(fields=["account", "entry"]),
            models.Index(fields=["customer_id"]),
            models.Index(fields=["project_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit__gt=0, credit=0) | models.Q(debit=0, credit__gt=0)),
                name="journal_line_one_side",
            ),
            currency_check("currency", "journal_line_currency_iso"),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account.code} {side}"


class IntegrationMode(models.TextChoices):
    NONE = "none", "None (exports only)"
    INVOICE_LINE_TRIGGER = "invoice_line_trigger", "Invoice line trigger"
    INVOICE_POST = "invoice_post", "Invoice post"
    JOURNAL_POST = "journal_post", "Journal post"


class Integration(models.Model):
    """How one legal entity's books reach the firm's accounting system."""

    legal_entity = models.OneToOneField(
        LegalEntity, on_delete=models.CASCADE, related_name="integration"
    )
    mode = models.CharField(max_length=30, choices=IntegrationMode.choices, default="none")
    endpoint_url = models.URLField(blank=True)
    # HMAC-SHA256 key for the X-Signature header. Stored as entered; rotate by editing.
    signing_secret = models.CharField(max_length=200, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=8)

    def __str__(self) -> str:
        return f"{self.legal_entity.code}: {self.get_mode_display()}"


OutboxStatus = DeliveryStatus


class OutboxMessage(DeliveryMessage):
    """A message to the entity's accounting system, written in the same transaction as the
    change and delivered by psa.kernel.delivery."""

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="outbox")

    class Meta(DeliveryMessage.Meta):
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class OutboxAttempt(DeliveryAttempt):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="log")


class FxRate(models.Model):
    """Functional units per one unit of ``currency`` on ``date`` (the last known rate applies
    to later days until a new one is entered)."""

    currency = models.CharField(max_length=3, validators=[currency_code])
    functional_currency = models.CharField(max_length=3, validators=[currency_code])
    date = models.DateField()
    rate = models.DecimalField(**RATE)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "functional_currency", "date"], name="fx_rate_unique_day"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.functional_currency} on {self.date}"
