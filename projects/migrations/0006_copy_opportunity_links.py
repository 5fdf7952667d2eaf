"""Copy every opportunity -> project and opportunity -> template link to the projects side.

Plain SQL on the tables, because at this point both the old columns (crm) and the new ones
(projects) exist and the historical models' reverse accessors overlap. Reversible: going
back copies the links into the old columns again (crm 0006 reversed has re-added them).
"""

from django.db import migrations

FORWARD = [
    """
    UPDATE projects_project AS p SET opportunity_id = o.id
    FROM crm_opportunity AS o WHERE o.project_id = p.id
    """,
    """
    INSERT INTO projects_opportunityplan (opportunity_id, template_id)
    SELECT o.id, o.project_template_id FROM crm_opportunity AS o
    WHERE o.project_template_id IS NOT NULL
    """,
]

BACKWARD = [
    """
    UPDATE crm_opportunity AS o SET project_id = p.id
    FROM projects_project AS p WHERE p.opportunity_id = o.id
    """,
    """
    UPDATE crm_opportunity AS o SET project_template_id = pl.template_id
    FROM projects_opportunityplan AS pl WHERE pl.opportunity_id = o.id
    """,
    "DELETE FROM projects_opportunityplan",
    "UPDATE projects_project SET opportunity_id = NULL WHERE opportunity_id IS NOT NULL",
]


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_opportunity_links"),
    ]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
