"""An explicit period anchor on recurring fees: existing fees keep their periods from the start
date ("anniversary"); new fees default to calendar periods."""

from django.db import migrations, models

HELP = (
    "Calendar periods: calendar months (or quarters, half-years, years from 1 January); a first"
    " or last period shorter than a whole one is billed pro rata by days (e.g. 11 to 31 December is"
    " 21/31 of the monthly fee). From the start date: each period runs from the start date's"
    " day of the month, whole fees only."
)
CHOICES = [("calendar_month", "Calendar periods"), ("anniversary", "From the start date")]


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_dunning_late_fee_per_currency")]

    operations = [
        # Existing rows are filled with "anniversary": their periods do not move.
        migrations.AddField(
            model_name="recurringfee",
            name="period_anchor",
            field=models.CharField(
                choices=CHOICES, default="anniversary", help_text=HELP, max_length=16
            ),
        ),
        migrations.AlterField(
            model_name="recurringfee",
            name="period_anchor",
            field=models.CharField(
                choices=CHOICES, default="calendar_month", help_text=HELP, max_length=16
            ),
        ),
        migrations.AddConstraint(
            model_name="recurringfee",
            constraint=models.CheckConstraint(
                condition=models.Q(period_anchor__in=["calendar_month", "anniversary"]),
                name="fee_period_anchor_known",
            ),
        ),
    ]
