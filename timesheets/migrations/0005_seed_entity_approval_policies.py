from decimal import Decimal

from django.db import migrations


def seed_entity_defaults(apps, schema_editor):
    """Each existing legal entity gets its default policy, switched off: until finance turns it
    on, time approves itself only where a project or customer has rules, as before. The
    project and customer policies become overrides that keep every rule they state; a
    disabled one meant "as if absent", which is now "inherit"."""
    LegalEntity = apps.get_model("ledger", "LegalEntity")
    ApprovalPolicy = apps.get_model("timesheets", "ApprovalPolicy")
    for entity in LegalEntity.objects.all():
        ApprovalPolicy.objects.get_or_create(
            legal_entity=entity,
            defaults={
                "enabled": False,
                "max_hours_per_day": Decimal(10),
                "max_hours_per_week": None,
                "within_capacity": True,
                "note_required": False,
                "project_must_be_active": True,
                "within_budget": True,
                "allow_weekends": False,
                "allow_holidays": False,
                "review_first_weeks": 0,
            },
        )
    ApprovalPolicy.objects.filter(legal_entity__isnull=True, enabled=False).update(enabled=None)


# What a policy stated before rules could be inherited (the old model's defaults).
PREVIOUS_DEFAULTS = {
    "enabled": True,
    "note_required": True,
    "project_must_be_active": True,
    "within_budget": True,
    "allow_weekends": False,
    "allow_holidays": False,
}


def unseed(apps, schema_editor):
    """Back to complete project/customer policies: entity rows go, inherited rules are stated."""
    ApprovalPolicy = apps.get_model("timesheets", "ApprovalPolicy")
    ApprovalPolicy.objects.filter(legal_entity__isnull=False).delete()
    for name, value in PREVIOUS_DEFAULTS.items():
        ApprovalPolicy.objects.filter(**{f"{name}__isnull": True}).update(**{name: value})


class Migration(migrations.Migration):
    # Its own migration (its own transaction): PostgreSQL refuses to ALTER a table with
    # pending trigger events, which these inserts leave until commit.
    dependencies = [
        ("ledger", "0001_initial"),
        ("timesheets", "0004_entity_default_approval_policy"),
    ]

    operations = [
        migrations.RunPython(seed_entity_defaults, unseed),
    ]
