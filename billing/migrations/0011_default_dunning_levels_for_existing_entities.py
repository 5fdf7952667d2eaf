"""Existing legal entities without dunning levels get the four default levels (#14: reminders
were switched on but no level existed, so nothing was sent). New entities get them when their
books are set up (ledger.hooks → billing.services.dunning.dunning_levels_default).

Self-contained: the texts are copied here, as they were when this migration was written."""

from django.db import migrations

BODY = (
    "Hello,\n\n{message}\n\nInvoice {{{{ invoice.number }}}}: {{{{ amount_due }}}}, due on "
    '{{{{ due_date|date:"j F Y" }}}}.\nPay online: {{{{ pay_url }}}}\n\nKind regards,\n'
    "{{{{ entity.name }}}}\n"
)
LEVELS = [
    (-3, "Friendly reminder", "Invoice {{ invoice.number }} is due soon",
     "A friendly note: this invoice is due in three days."),
    (0, "Due today", "Invoice {{ invoice.number }} is due today", "This invoice is due today."),
    (7, "Overdue 7 days", "Reminder: invoice {{ invoice.number }} is overdue",
     "We have not received payment for this invoice yet."),
    (14, "Final notice", "Final notice: invoice {{ invoice.number }}",
     "This invoice is now two weeks overdue. Please pay it now to avoid further action."),
]  # fmt: skip


def add_default_levels(apps, schema_editor):
    LegalEntity = apps.get_model("ledger", "LegalEntity")
    DunningLevel = apps.get_model("billing", "DunningLevel")
    bare = LegalEntity.objects.exclude(
        pk__in=DunningLevel.objects.values_list("legal_entity_id", flat=True)
    )
    DunningLevel.objects.bulk_create(
        DunningLevel(
            legal_entity=entity,
            days_from_due=days,
            name=name,
            subject=subject,
            body=BODY.format(message=message),
        )  # fmt: skip
        for entity in bare
        for days, name, subject, message in LEVELS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0010_fund_application_reversed_at"),
        ("ledger", "0006_letterhead"),
    ]

    operations = [
        migrations.RunPython(add_default_levels, migrations.RunPython.noop),
    ]
