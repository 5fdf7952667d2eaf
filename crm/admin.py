from django.contrib import admin

from crm.models import Contact, Customer


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
