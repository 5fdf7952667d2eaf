import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """A line that sells a service item keeps the item's revenue role and deferral rule as
    billed. Existing lines keep their kind's treatment (the fields stay blank)."""

    dependencies = [
        ("billing", "0014_wip_accrued_per_entry"),
        ("projects", "0003_tasks_rates_milestones_templates"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="service_item",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="projects.serviceitem",
            ),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="revenue_role",
            field=models.CharField(blank=True, db_default="", default="", max_length=50),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="deferral_rule",
            field=models.CharField(blank=True, db_default="", default="", max_length=20),
        ),
    ]
