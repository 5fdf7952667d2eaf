"""Django admin for billing."""

from django.contrib import admin

from billing.models import RecurringFee
from billing.services.recurring import recurring_fee_change


@admin.register(RecurringFee)
class RecurringFeeAdmin(admin.ModelAdmin):
    """Fees are added on the project's billing page; here their description and period anchor
    change, through the service (the anchor only while no period is billed)."""

    list_display = ["description", "project", "kind", "period_months", "period_anchor",
                    "start_date", "end_date"]  # fmt: skip
    list_filter = ["kind", "period_anchor", "period_months"]
    search_fields = ["description", "project__code"]
    readonly_fields = ["project", "kind", "unit_price", "quantity", "period_months",
                       "start_date", "end_date", "included_hours", "overage_rate"]  # fmt: skip
    fields = ["description", "period_anchor", *readonly_fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        recurring_fee_change(
            fee=obj,
            actor=request.user,
            **{name: form.cleaned_data[name] for name in form.changed_data},
        )
