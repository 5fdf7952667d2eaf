"""Forms of the timesheets pages: they parse and show errors; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms

from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project

INHERIT = [("", "Inherit"), ("on", "Yes"), ("off", "No")]

# (rule, label, help text) — the switches of an approval policy, in the order a page shows them.
SWITCHES = (
    ("enabled", "Approve time by policy", "When off, every week goes to the project manager."),
    (
        "within_capacity",
        "Within the person's weekly capacity",
        "A week with more hours than the person's weekly capacity (40 h unless set on the "
        "person) waits for the manager.",
    ),
    (
        "note_required",
        "A note on every entry",
        "When off, a note is still required on tasks marked so.",
    ),
    ("project_must_be_active", "Only on active projects", "Time on a project on hold waits."),
    ("within_budget", "Within the project's budget", "Time past the budget hours waits."),
    ("allow_weekends", "Allow weekend time", "When off, Saturday and Sunday time waits."),
    (
        "allow_holidays",
        "Allow time on holidays",
        "When off, time on the legal entity's holidays waits.",
    ),
)

SWITCH_NAMES = frozenset(name for name, _, _ in SWITCHES)


class ApprovalPolicyForm(forms.Form):
    """One policy: the entity's default (every switch yes or no) or an override (blank
    inherits)."""

    max_hours_per_day = forms.DecimalField(
        label="Most hours in a day",
        required=False,
        min_value=0,
        max_digits=4,
        decimal_places=2,
        help_text="Across all projects. Blank: no limit (an override: inherit).",
    )
    max_hours_per_week = forms.DecimalField(
        label="Most hours in a week",
        required=False,
        min_value=0,
        max_digits=5,
        decimal_places=2,
        help_text="A firm-wide cap besides each person's capacity. Blank: no cap (inherit).",
    )
    review_first_weeks = forms.IntegerField(
        label="A person's first weeks reviewed",
        required=False,
        min_value=0,
        max_value=52,
        help_text="A newcomer's first weeks always go to the manager. 0: none.",
    )

    def __init__(self, *args: Any, override: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.override = override
        for name, label, help_text in SWITCHES:
            if override:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=INHERIT, required=False, help_text=help_text
                )
            else:
                self.fields[name] = forms.BooleanField(
                    label=label, required=False, help_text=help_text
                )
        if not override:
            self.fields["review_first_weeks"].required = True

    def rules(self) -> dict[str, Any]:
        """The cleaned values as the service takes them (an override's blank: None)."""
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if self.override and name in SWITCH_NAMES:
                out[name] = None if value == "" else value == "on"
            else:
                out[name] = value
        return out


class OverrideScopeForm(forms.Form):
    """Which customer or project an override is for."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.order_by("name"), required=False, label="Customer"
    )
    project = forms.ModelChoiceField(
        queryset=Project.objects.order_by("code"),
        required=False,
        label="or project",
        help_text="A project's override wins over its customer's.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("customer")) == bool(data.get("project")):
            raise forms.ValidationError("Pick a customer or a project.")
        return data


def entity_choices() -> list[LegalEntity]:
    return list(LegalEntity.objects.order_by("name"))
