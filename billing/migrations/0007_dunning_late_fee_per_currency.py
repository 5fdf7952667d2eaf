"""Late fees per currency: a level's late fee is a percentage of the amount due (0: none) with
a minimum per currency (DunningLevelFee), or a fixed fee per currency when the percentage is 0.

Today's single ``late_fee`` carries forward as the level's fee in its legal entity's functional
currency, rounded to that currency's minor unit (12.50 in a JPY entity becomes 13). Backwards,
the fee in the functional currency becomes the single ``late_fee`` again; fees in other
currencies and the percentage have no place in the old layout and are dropped.
"""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

from psa.kernel.money import round_money


def single_fee_to_functional_currency(apps, schema_editor):
    DunningLevel = apps.get_model("billing", "DunningLevel")
    DunningLevelFee = apps.get_model("billing", "DunningLevelFee")
    levels = DunningLevel.objects.filter(late_fee__gt=0).select_related("legal_entity")
    DunningLevelFee.objects.bulk_create(
        DunningLevelFee(
            level=level,
            currency=level.legal_entity.functional_currency,
            amount=round_money(level.late_fee, level.legal_entity.functional_currency),
        )
        for level in levels
    )


def functional_currency_fee_to_single(apps, schema_editor):
    DunningLevelFee = apps.get_model("billing", "DunningLevelFee")
    fees = DunningLevelFee.objects.select_related("level__legal_entity")
    for fee in fees:
        if fee.currency == fee.level.legal_entity.functional_currency:
            fee.level.late_fee = fee.amount
            fee.level.save(update_fields=["late_fee"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_billing_guards"),
        ("ledger", "0006_letterhead"),
    ]

    operations = [
        migrations.AddField(
            model_name="dunninglevel",
            name="late_fee_percent",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=5),
        ),
        migrations.AddConstraint(
            model_name="dunninglevel",
            constraint=models.CheckConstraint(
                condition=models.Q(("late_fee_percent__gte", 0), ("late_fee_percent__lte", 100)),
                name="dunning_fee_percent_range",
            ),
        ),
        migrations.CreateModel(
            name="DunningLevelFee",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        max_length=3,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR."
                            )
                        ],
                    ),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "level",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="fees",
                        to="billing.dunninglevel",
                    ),
                ),
            ],
            options={"ordering": ["level", "currency"]},
        ),
        migrations.AddConstraint(
            model_name="dunninglevelfee",
            constraint=models.UniqueConstraint(
                fields=("level", "currency"), name="dunning_fee_currency_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="dunninglevelfee",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0)), name="dunning_level_fee_pos"
            ),
        ),
        migrations.AddConstraint(
            model_name="dunninglevelfee",
            constraint=models.CheckConstraint(
                condition=models.Q(("currency__regex", "^[A-Z]{3}$")),
                name="dunning_fee_currency_iso",
            ),
        ),
        migrations.RunPython(single_fee_to_functional_currency, functional_currency_fee_to_single),
        migrations.RemoveConstraint(model_name="dunninglevel", name="dunning_fee_pos"),
        migrations.RemoveField(model_name="dunninglevel", name="late_fee"),
    ]
