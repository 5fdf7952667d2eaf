"""The books. The ledger depends on no other app; others post to it through its services."""

from __future__ import annotations

from django.db import models

from psa.validators import country_code, currency_check, currency_code


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
