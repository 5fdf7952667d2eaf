from django import forms
from django.contrib import admin

from projects.models import (
    Assignment,
    Milestone,
    Project,
    ProjectTemplate,
    RateCard,
    ServiceItem,
    Task,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from projects.services import service_item_role_check
from psa.kernel import errors


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    autocomplete_fields = ["person"]


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "billing_model", "status", "manager"]
    list_filter = ["status", "billing_model", "legal_entity", "allow_all_users"]
    search_fields = ["code", "name", "customer__name"]
    list_select_related = ["customer", "manager"]
    inlines = [AssignmentInline, TaskInline, MilestoneInline]


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    list_display = ["level", "rate", "currency", "project", "person", "role", "customer",
                    "legal_entity", "effective_from", "effective_to"]  # fmt: skip
    list_filter = ["level", "currency"]
    search_fields = ["project__code", "person__email", "role", "customer__name"]
    list_select_related = ["project", "person", "customer", "legal_entity"]


class ServiceItemForm(forms.ModelForm):
    class Meta:
        model = ServiceItem
        fields = ["code", "name", "revenue_account_role", "deferral_rule", "tax_category", "active"]

    def clean_revenue_account_role(self) -> str:
        role = self.cleaned_data["revenue_account_role"]
        try:
            service_item_role_check(role)
        except errors.ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from exc
        return role


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    form = ServiceItemForm
    list_display = ["code", "name", "revenue_account_role", "deferral_rule", "tax_category"]


class TemplateTaskInline(admin.TabularInline):
    model = TemplateTask
    extra = 0


class TemplateMilestoneInline(admin.TabularInline):
    model = TemplateMilestone
    extra = 0


class TemplateRateInline(admin.TabularInline):
    model = TemplateRate
    extra = 0


@admin.register(ProjectTemplate)
class ProjectTemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "billing_model", "budget_hours", "budget_amount", "active"]
    inlines = [TemplateTaskInline, TemplateMilestoneInline, TemplateRateInline]
