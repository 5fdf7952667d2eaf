from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        # Projects serves the crm floor below it through the hooks crm exposes.
        from crm.hooks import Delivery, delivery_register
        from projects.selectors import template_choices
        from projects.services import opportunity_plan_set, project_create_for_opportunity

        delivery_register(
            Delivery(
                templates=template_choices,
                plan_set=opportunity_plan_set,
                project_start=project_create_for_opportunity,
            )
        )
