"""Forms of the crm pages: they parse and show errors; the rules live in crm.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from crm.hooks import delivery
from crm.models import Contact, Customer, Opportunity, OpportunityStage
from crm.services import opportunity_planned_template
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.dates import date_in_range
from psa.kernel.models import User
from psa.kernel.roles import Role

phone_chars = RegexValidator(
    r"^[0-9+()./\- ]{5,50}$", "Use digits, spaces and + ( ) - . only, e.g. +44 20 7946 0000."
)


class LeadWebForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=200,
        error_messages={"required": "Please tell us your name."},
    )
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        error_messages={
            "required": "Please give an e-mail address so we can answer.",
            "invalid": "That does not look like an e-mail address (name@company.com).",
        },
    )
    company = forms.CharField(label="Company", max_length=200, required=False)
    phone = forms.CharField(label="Phone", max_length=50, required=False, validators=[phone_chars])
    website = forms.CharField(
        label="Company website",
        max_length=200,
        required=False,
        validators=[
            RegexValidator(
                r"^(https?://)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?(/\S*)?$",
                "Give the address of your website, e.g. www.company.com.",
            )
        ],
    )
    message = forms.CharField(
        label="How can we help?",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        error_messages={"required": "Please tell us briefly what you need."},
    )
    # The honeypot: hidden from people (CSS, aria-hidden, no tab stop), irresistible to bots.
    nickname = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )


class LeadManualForm(LeadWebForm):
    """A lead typed in by a manager (a call, a meeting): no honeypot, a legal entity, an owner."""

    legal_entity = forms.ModelChoiceField(queryset=None, label="Billed by")  # type: ignore[arg-type]
    owner = forms.ModelChoiceField(queryset=None, required=False, label="Owner")  # type: ignore[arg-type]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["nickname"]
        self.fields["legal_entity"].queryset = LegalEntity.objects.all()
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, groups__name__in=[Role.PROJECT_MANAGER, Role.FINANCE]
        ).distinct()
        self.fields["message"].required = False
        self.fields["name"].label = "Name"
        self.fields["message"].label = "Notes"
        self.order_fields(["legal_entity", "owner"])


def apply_errors(form: forms.BaseForm, exc: errors.DomainError) -> None:
    """Show a service's field errors next to the form's fields (others at the top)."""
    if not exc.fields:
        form.add_error(None, exc.message)
    for name, messages in exc.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "legal_entity",
            "name",
            "legal_name",
            "billing_address",
            "country",
            "currency",
            "payment_terms_days",
            "tax_id",
            "tax_treatment",
            "billing_email",
            "account_manager",
            "is_active",
        ]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account_manager"].queryset = User.objects.filter(
            is_active=True, groups__name__in=[Role.PROJECT_MANAGER, Role.FINANCE]
        ).distinct()
        if self.instance.pk:
            # The billing entity of an existing customer does not change here.
            del self.fields["legal_entity"]

    # Services validate the model; the form only parses.
    def _post_clean(self) -> None:
        pass


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "title", "is_billing_contact"]

    def _post_clean(self) -> None:
        pass


class OpportunityForm(forms.ModelForm):
    # Not a column of Opportunity: projects' plan for it, offered and set through crm.hooks.
    project_template = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        required=False,
        help_text="The plan the project starts from when the opportunity is won.",
    )

    class Meta:
        model = Opportunity
        fields = ["customer", "name", "stage", "value", "currency", "probability",
                  "expected_close", "owner"]  # fmt: skip
        widgets = {"expected_close": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, customers: Any = None, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        if instance is not None and instance.pk:
            template = opportunity_planned_template(instance)
            kwargs["initial"] = {
                "project_template": template.pk if template else None,
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, **kwargs)
        open_stages = [c for c in OpportunityStage.choices if c[0] not in ("won", "lost")]
        self.fields["stage"].choices = open_stages
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, groups__name__in=[Role.PROJECT_MANAGER, Role.FINANCE]
        ).distinct()
        self.fields["project_template"].queryset = delivery().templates()
        self.order_fields([*self.Meta.fields, "project_template"])
        if customers is not None:
            self.fields["customer"].queryset = customers
        if self.instance.pk:
            del self.fields["customer"]
        self.fields["currency"].required = False
        self.fields["currency"].help_text = "Empty: the customer's currency."

    def _post_clean(self) -> None:
        pass


class WinForm(forms.Form):
    template = forms.ModelChoiceField(queryset=None, label="Project template")  # type: ignore[arg-type]
    project_code = forms.SlugField(max_length=30, label="Project code")
    project_name = forms.CharField(max_length=200, required=False, label="Project name")
    start_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[date_in_range],
    )
    manager = forms.ModelChoiceField(queryset=None, label="Project manager")  # type: ignore[arg-type]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = delivery().templates()
        self.fields["manager"].queryset = User.objects.filter(
            is_active=True, groups__name=Role.PROJECT_MANAGER
        ).order_by("first_name", "last_name")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)
