from django.contrib import admin

from timesheets.models import TimeEntry


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin):
    list_display = ["date", "person", "project", "hours", "billable", "status"]
    list_filter = ["status", "billable", "project__legal_entity"]
    search_fields = ["person__email", "project__code", "note"]
    date_hierarchy = "date"
    list_select_related = ["person", "project"]
    # Time is changed through the timesheet pages and services, which enforce the rules.
    readonly_fields = ["status"]
