"""Customers and the people we deal with there."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from psa.kernel.money import MAX_DECIMALS
from psa.kernel.validators import country_code, currency_check, currency_code


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


# Free-mail providers: a shared domain says nothing about which company someone works for,
# so duplicate detection by domain ignores them.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "mail.com",
        "yandex.com",
        "zoho.com",
        "fastmail.com",
    }
)


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    API = "api", "API"
    MANUAL = "manual", "Entered by hand"


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    QUALIFIED = "qualified", "Qualified"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"


OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.QUALIFIED)


class Lead(models.Model):
    """Someone who may become a customer: from the web form, the API or typed in by hand."""

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity",
        on_delete=models.PROTECT,
        related_name="leads",
        help_text="The legal entity that would bill this customer.",
    )
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=50, blank=True)
    website = models.CharField(max_length=200, blank=True)
    # The company's domain, lower case, from the website or the e-mail address (not for
    # free-mail addresses): what duplicate detection compares.
    domain = models.CharField(max_length=200, blank=True, db_index=True)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disqualify_reason = models.CharField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        help_text="The salesperson who follows the lead up.",
    )
    # Set when the lead was recognised as an existing customer or contact (duplicate
    # detection), and when it is converted.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    submissions = models.PositiveIntegerField(
        default=1, help_text="How often this person sent the form (repeats attach here)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Duplicate detection compares e-mails with iexact, which PostgreSQL runs as UPPER().
        indexes = [models.Index(models.functions.Upper("email"), name="lead_email_upper")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.DISQUALIFIED)
                | ~models.Q(disqualify_reason=""),
                name="lead_disqualified_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.CONVERTED) | models.Q(customer__isnull=False),
                name="lead_converted_has_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_LEAD_STATUSES

    def can_qualify(self) -> bool:
        return self.status == LeadStatus.NEW

    def can_convert(self) -> bool:
        return self.status in OPEN_LEAD_STATUSES

    def can_disqualify(self) -> bool:
        return self.status in OPEN_LEAD_STATUSES


class LeadFormKey(models.Model):
    """The configuration of one web-to-lead form a firm embeds on its website.

    The key is public (it sits in the firm's HTML); it is not a secret that grants anything
    but "create a lead for this legal entity", which anyone may do. It is long and random
    so it cannot be guessed to post leads into another entity's pipeline, and the origins
    list limits which websites may post or embed the form from a browser.
    """

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="lead_form_keys"
    )
    name = models.CharField(max_length=100, help_text="Where the form is used, e.g. our website.")
    key = models.CharField(max_length=64, unique=True, editable=False)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Websites that may post or embed the form, e.g. ["https://www.acme.example"].',
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lead_form_keys",
        help_text="The salesperson who owns the leads and is notified.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Used by our own page /leads/new/ when no key is given."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="lead_form_key_one_default",
            ),
            # secrets.token_urlsafe(32): 256 bits in 43 characters; never shorter than 128 bits.
            models.CheckConstraint(
                condition=models.Q(key__regex=r"^[A-Za-z0-9_-]{22,64}$"),
                name="lead_form_key_long_enough",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityStage(models.TextChoices):
    PROSPECTING = "prospecting", "Prospecting"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = (
    OpportunityStage.PROSPECTING,
    OpportunityStage.PROPOSAL,
    OpportunityStage.NEGOTIATION,
)


class Opportunity(models.Model):
    """A deal we may win: for an existing customer or for a lead not yet a customer."""

    legal_entity = models.ForeignKey(
        "ledger.LegalEntity", on_delete=models.PROTECT, related_name="opportunities"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    name = models.CharField(max_length=200)
    stage = models.CharField(
        max_length=20, choices=OpportunityStage.choices, default=OpportunityStage.PROSPECTING
    )
    value = models.DecimalField(max_digits=15, decimal_places=MAX_DECIMALS, default=0)
    currency = models.CharField(max_length=3, validators=[currency_code])
    probability = models.PositiveSmallIntegerField(default=10, help_text="Per cent, 0-100.")
    expected_close = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_opportunities",
    )
    lost_reason = models.CharField(max_length=500, blank=True)
    # The template chosen for the project and the project created on the win are projects'
    # rows pointing here (crm is a lower floor): ``opportunity.plan.template`` and
    # ``opportunity.project``, each absent until set.
    won_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["expected_close", "name"]
        verbose_name_plural = "opportunities"
        constraints = [
            currency_check("currency", "opportunity_currency_iso"),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(lead__isnull=False),
                name="opportunity_has_customer_or_lead",
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="opportunity_value_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="opportunity_probability_max_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def account_name(self) -> str:
        if self.customer_id:
            return self.customer.name
        return self.lead.company or self.lead.name if self.lead_id else ""

    def can_win(self) -> bool:
        return self.stage in OPEN_STAGES
