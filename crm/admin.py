import secrets

from django.contrib import admin

from crm.models import Contact, Customer, Lead, LeadFormKey, Opportunity


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "legal_entity",
        "country",
        "currency",
        "payment_terms_days",
        "is_active",
    ]
    list_filter = ["legal_entity", "currency", "tax_treatment", "is_active"]
    search_fields = ["name", "legal_name", "billing_email", "tax_id"]
    inlines = [ContactInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "email", "status", "source", "owner", "created_at"]
    list_filter = ["status", "source", "legal_entity"]
    search_fields = ["name", "company", "email", "domain"]
    raw_id_fields = ["customer", "contact"]


@admin.register(LeadFormKey)
class LeadFormKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_entity", "owner", "is_default", "is_active"]
    readonly_fields = ["key", "created_at"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not obj.key:
            # Same generator as crm.services.lead_form_key_create: 256 random bits.
            obj.key = secrets.token_urlsafe(32)
        super().save_model(request, obj, form, change)


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "lead", "stage", "value", "currency", "probability"]
    list_filter = ["stage", "legal_entity"]
    raw_id_fields = ["customer", "lead"]
