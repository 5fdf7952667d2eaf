from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "psa.automation"
    label = "automation"
    verbose_name = "Automation"
