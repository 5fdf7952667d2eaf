"""The links between an opportunity and its project move to the projects floor.

``crm.Opportunity.project`` and ``crm.Opportunity.project_template`` pointed up a floor (crm
sits below projects). Their replacements live here: ``Project.opportunity`` and the
``OpportunityPlan`` table. 0006 copies the existing links; crm 0006 then drops the old
columns.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_lead_email_upper_index"),
        ("projects", "0004_updated_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="opportunity",
            field=models.OneToOneField(
                blank=True,
                help_text="The opportunity whose win created this project.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="project",
                to="crm.opportunity",
            ),
        ),
        migrations.CreateModel(
            name="OpportunityPlan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "opportunity",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="plan",
                        to="crm.opportunity",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        help_text="The plan the project starts from when the opportunity is won.",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="opportunity_plans",
                        to="projects.projecttemplate",
                    ),
                ),
            ],
        ),
    ]
