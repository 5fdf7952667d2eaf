from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Billing reacts to what lower floors do through the hooks they expose.
        from billing.services import milestone_reached_post
        from projects.hooks import on_milestone_reached

        on_milestone_reached(milestone_reached_post)
