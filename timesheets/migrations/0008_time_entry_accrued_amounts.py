from django.db import migrations, models


class Migration(migrations.Migration):
    """Each approved entry's share of its WIP accrual (billing relieves exactly it). Existing
    entries are backfilled by billing's migration ``wip_accrued_per_entry``."""

    dependencies = [
        ("timesheets", "0007_money_three_decimals_iso_currencies"),
    ]

    operations = [
        migrations.AddField(
            model_name="timeentry",
            name="accrued_amount",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=15, null=True),
        ),
        migrations.AddField(
            model_name="timeentry",
            name="accrued_functional",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=15, null=True),
        ),
    ]
