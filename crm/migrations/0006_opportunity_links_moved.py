"""Drop the opportunity's links up to projects: projects 0006 copied them to its own side
(``Project.opportunity`` and ``OpportunityPlan``)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_lead_email_upper_index"),
        ("projects", "0006_copy_opportunity_links"),
    ]

    operations = [
        migrations.RemoveField(model_name="opportunity", name="project_template"),
        migrations.RemoveField(model_name="opportunity", name="project"),
    ]
