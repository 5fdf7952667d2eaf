from django.contrib import admin

from ledger.models import (
    Account,
    Integration,
    JournalEntry,
    JournalLine,
    LegalEntity,
    OutboxMessage,
    RoleMapping,
)


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
    # Locks move through the period-close page, which checks roles and audits the change.
    readonly_fields = ["soft_lock_date", "hard_lock_date"]

    def save_model(self, request, obj, form, change):
        # Imported here: the services load the posting rules, which the admin does not need
        # until an entity is saved.
        from ledger.services import books_setup

        super().save_model(request, obj, form, change)
        books_setup(legal_entity=obj)  # a new entity gets the default chart


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["legal_entity", "code", "name", "type", "is_active"]
    list_filter = ["legal_entity", "type", "is_active"]
    search_fields = ["code", "name"]


@admin.register(RoleMapping)
class RoleMappingAdmin(admin.ModelAdmin):
    list_display = ["legal_entity", "role", "account"]
    list_filter = ["legal_entity"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["legal_entity", "mode", "endpoint_url"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """The journal is append-only; the database refuses edits anyway."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    can_delete = False
    fields = [
        "account",
        "debit",
        "credit",
        "currency",
        "amount_currency",
        "customer_id",
        "project_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "legal_entity", "date", "event", "source_type", "source_id"]
    list_filter = ["legal_entity", "event"]
    search_fields = ["source_id", "memo"]
    date_hierarchy = "date"
    inlines = [JournalLineInline]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "topic", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "topic"]
