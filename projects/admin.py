from django.contrib import admin

from projects.models import Assignment, Project


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["person"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "billing_model", "status", "manager"]
    list_filter = ["status", "billing_model", "legal_entity"]
    search_fields = ["code", "name", "customer__name"]
    list_select_related = ["customer", "manager"]
    inlines = [AssignmentInline]
