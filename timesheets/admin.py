from django.contrib import admin

from timesheets.models import ApprovalPolicy, Expense, Holiday, TimeEntry


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin):
    list_display = ["date", "person", "project", "task", "hours", "billable", "status"]
    list_filter = ["status", "billable", "project__legal_entity"]
    search_fields = ["person__email", "project__code", "note"]
    date_hierarchy = "date"
    list_select_related = ["person", "project", "task"]
    # Time is changed through the timesheet pages and services, which enforce the rules.
    readonly_fields = ["status", "rejection_reason", "billed_at"]


@admin.register(Expense)
class ExpenseAdmin(admin.ModelAdmin):
    list_display = ["date", "person", "project", "category", "amount", "currency", "status"]
    list_filter = ["status", "category", "billable"]
    list_select_related = ["person", "project"]
    readonly_fields = ["status"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "enabled", "max_hours_per_day", "max_hours_per_week"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "legal_entity"]
    list_filter = ["legal_entity"]
