from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "psa.kernel"
    # The label the user model, its tables and migrations have always had.
    label = "psa"
    verbose_name = "Accounts and audit"
