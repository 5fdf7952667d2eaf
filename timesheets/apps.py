from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "timesheets"
    verbose_name = "Timesheets"

    def ready(self) -> None:
        # Projects shows hours logged here but sits a floor below: it asks through its hook.
        from projects.hooks import project_time_provide
        from timesheets.selectors.projects import ProjectTimeFromEntries

        project_time_provide(ProjectTimeFromEntries())
