"""Dunning levels and the reminders sent (one per invoice and level)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from billing.models.invoices import AMOUNT, Invoice


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
