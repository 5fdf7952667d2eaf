"""Payments: Stripe customers and cards, attempts, payments, credit, refunds, disputes,
payouts, write-offs and the Stripe event inbox.

A payment is recorded once: one Payment per attempt (unique), one per Stripe payment intent
(unique), whoever confirms it first (the return redirect or the webhook). See
billing/services/payments.py.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from billing.models.invoices import AMOUNT, Invoice
from psa.kernel.validators import currency_code


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
