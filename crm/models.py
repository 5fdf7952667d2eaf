"""Customers and the people we deal with there."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from psa.validators import country_code, currency_check, currency_code


class TaxTreatment(models.TextChoices):
    DOMESTIC = "domestic", "Domestic (charge tax)"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge (B2B, customer accounts for tax)"
    EXEMPT = "exempt", "Exempt / outside scope"


class Customer(models.Model):
    legal_entity = models.ForeignKey(
        "ledger.LegalEntity",
        on_delete=models.PROTECT,
        related_name="customers",
        help_text="The legal entity that bills this customer.",
    )
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    billing_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, validators=[country_code])
    currency = models.CharField(max_length=3, validators=[currency_code])
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    tax_id = models.CharField("tax id", max_length=50, blank=True)
    tax_treatment = models.CharField(
        max_length=20, choices=TaxTreatment.choices, default=TaxTreatment.DOMESTIC
    )
    billing_email = models.EmailField(blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            currency_check("currency", "customer_currency_iso"),
            models.UniqueConstraint(fields=["legal_entity", "name"], name="customer_unique_name"),
            models.CheckConstraint(
                condition=models.Q(payment_terms_days__lte=365), name="customer_terms_max_year"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=100, blank=True)
    is_billing_contact = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
