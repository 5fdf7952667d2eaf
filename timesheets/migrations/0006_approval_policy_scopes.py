from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("timesheets", "0005_seed_entity_approval_policies"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="approvalpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("customer__isnull", True),
                        ("legal_entity__isnull", True),
                        ("project__isnull", False),
                    ),
                    models.Q(
                        ("customer__isnull", False),
                        ("legal_entity__isnull", True),
                        ("project__isnull", True),
                    ),
                    models.Q(
                        ("customer__isnull", True),
                        ("legal_entity__isnull", False),
                        ("project__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="approval_policy_one_scope",
            ),
        ),
        migrations.AddConstraint(
            model_name="approvalpolicy",
            constraint=models.UniqueConstraint(
                fields=("legal_entity",), name="approval_policy_one_per_entity"
            ),
        ),
        migrations.AddConstraint(
            model_name="approvalpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("legal_entity__isnull", True),
                    models.Q(
                        ("allow_holidays__isnull", False),
                        ("allow_weekends__isnull", False),
                        ("enabled__isnull", False),
                        ("note_required__isnull", False),
                        ("project_must_be_active__isnull", False),
                        ("review_first_weeks__isnull", False),
                        ("within_budget__isnull", False),
                        ("within_capacity__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="approval_policy_entity_complete",
            ),
        ),
    ]
