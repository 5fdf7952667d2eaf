from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("psa", "0007_merge_0006_automation_policies_0006_updated_at"),
    ]

    # AutomationPolicy and JobRun moved to the automation app (psa.automation), which sits above
    # every business area. Only Django's model state changes: the tables stay where they are
    # (the automation app's 0001 takes them over under their psa_ names).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="automationpolicy",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="automationpolicy",
                    name="legal_entity",
                ),
                migrations.RemoveField(
                    model_name="automationpolicy",
                    name="project",
                ),
                migrations.DeleteModel(
                    name="JobRun",
                ),
                migrations.DeleteModel(
                    name="AutomationPolicy",
                ),
            ]
        ),
    ]
