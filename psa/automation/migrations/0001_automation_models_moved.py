import django.db.models.deletion
from django.db import migrations, models

MOVED = ["automationpolicy", "jobrun"]


def content_types_forward(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="psa", model__in=MOVED).update(app_label="automation")


def content_types_backward(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="automation", model__in=MOVED).update(app_label="psa")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("psa", "0008_automation_models_moved"),
        ("crm", "0005_lead_email_upper_index"),
        ("ledger", "0006_letterhead"),
        ("projects", "0004_updated_at"),
    ]

    # Takes over the tables the kernel app (label psa) created in its 0005 and 0006: state only.
    # The content types move too, so audit events about policies keep pointing at them.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="JobRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("job", models.CharField(db_index=True, max_length=80)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("partial", "Finished with failures"),
                                    ("failed", "Failed"),
                                ],
                                default="running",
                                max_length=10,
                            ),
                        ),
                        ("started_at", models.DateTimeField(db_index=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("processed", models.PositiveIntegerField(default=0)),
                        ("skipped", models.PositiveIntegerField(default=0)),
                        ("failed", models.PositiveIntegerField(default=0)),
                        ("errors", models.JSONField(blank=True, default=list)),
                        (
                            "correlation_id",
                            models.CharField(blank=True, db_index=True, max_length=64),
                        ),
                        ("worker", models.CharField(blank=True, max_length=200)),
                    ],
                    options={
                        "db_table": "psa_jobrun",
                        "ordering": ["-started_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["job", "-started_at"], name="psa_jobrun_job_625e74_idx"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AutomationPolicy",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("auto_approve", models.BooleanField(blank=True, null=True)),
                        ("release_milestones", models.BooleanField(blank=True, null=True)),
                        (
                            "invoicing",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("manual", "Manual (finance runs billing)"),
                                    ("monthly", "Monthly, on a chosen day"),
                                    ("weekly", "Weekly, on a chosen weekday"),
                                    ("project_end", "At project end"),
                                ],
                                max_length=12,
                                null=True,
                            ),
                        ),
                        ("invoice_day", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("auto_issue", models.BooleanField(blank=True, null=True)),
                        (
                            "review_above",
                            models.DecimalField(
                                blank=True, decimal_places=2, max_digits=14, null=True
                            ),
                        ),
                        ("auto_send", models.BooleanField(blank=True, null=True)),
                        ("autopay", models.BooleanField(blank=True, null=True)),
                        ("dunning", models.BooleanField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "customer",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="crm.customer",
                            ),
                        ),
                        (
                            "legal_entity",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="automation_policies",
                                to="ledger.legalentity",
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="projects.project",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "automation policies",
                        "db_table": "psa_automationpolicy",
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(
                                    ("customer__isnull", True), ("project__isnull", True)
                                ),
                                fields=("legal_entity",),
                                name="automation_one_per_entity",
                            ),
                            models.UniqueConstraint(
                                condition=models.Q(("project__isnull", True)),
                                fields=("customer",),
                                name="automation_one_per_customer",
                            ),
                            models.UniqueConstraint(
                                fields=("project",), name="automation_one_per_project"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(
                                        ("customer__isnull", True),
                                        ("project__isnull", True),
                                        _negated=True,
                                    ),
                                    models.Q(
                                        ("auto_approve__isnull", False),
                                        ("auto_issue__isnull", False),
                                        ("auto_send__isnull", False),
                                        ("autopay__isnull", False),
                                        ("dunning__isnull", False),
                                        ("invoicing__isnull", False),
                                        ("release_milestones__isnull", False),
                                    ),
                                    _connector="OR",
                                ),
                                name="automation_entity_complete",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("invoice_day__isnull", True),
                                    models.Q(("invoice_day__gte", 0), ("invoice_day__lte", 28)),
                                    _connector="OR",
                                ),
                                name="automation_invoice_day_range",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(content_types_forward, content_types_backward),
            ],
        ),
    ]
