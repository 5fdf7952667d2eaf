from django.contrib import admin

from ledger.models import LegalEntity


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "country",
        "functional_currency",
        "soft_lock_date",
        "hard_lock_date",
    ]
    search_fields = ["code", "name", "legal_name"]
