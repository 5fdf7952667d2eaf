from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Billing reacts to what lower floors do through the hooks they expose.
        from billing.services import milestone_reached_post
        from projects.hooks import on_milestone_reached

        on_milestone_reached(milestone_reached_post)

        # The e-mails billing sends through the kernel's mail outbox.
        from billing.services import mail

        mail.register()

        # Every legal entity starts with the default dunning levels (when its books are set
        # up: the admin, the demo seed, its first posting).
        from billing.services.dunning import dunning_levels_default
        from ledger.hooks import on_entity_setup

        on_entity_setup("billing.dunning_levels", dunning_levels_default)
