"""Dunning levels and the reminders sent (one per invoice and level)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from billing.models.invoices import AMOUNT, Invoice
from psa.kernel.money import round_money
from psa.kernel.validators import currency_check, currency_code


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
    # The late fee: this percentage of the amount due (0: none), at least the level's fee in
    # the invoice's currency (DunningLevelFee); no fee in that currency, no late fee.
    late_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["legal_entity", "days_from_due"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "days_from_due"], name="dunning_level_day_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(late_fee_percent__gte=0, late_fee_percent__lte=100),
                name="dunning_fee_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DunningLevelFee(models.Model):
    """A level's late fee in one currency: the fixed fee, or the minimum when the level charges
    a percentage. Stored in the currency's minor unit (800 JPY, 5.00 GBP)."""

    level = models.ForeignKey(DunningLevel, on_delete=models.CASCADE, related_name="fees")
    currency = models.CharField(max_length=3, validators=[currency_code])
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["level", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["level", "currency"], name="dunning_fee_currency_once"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="dunning_level_fee_pos"),
            currency_check("currency", "dunning_fee_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{round_money(self.amount, self.currency)} {self.currency}"


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
