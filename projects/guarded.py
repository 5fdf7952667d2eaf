"""Changes of a project or milestone under If-Match: the service owns the transaction.

The row is locked and its ETag checked (412 on a lost update) before the change service runs
in the same transaction (its own ``atomic`` nests). TRANSITIONAL: when ``project_update`` and
``milestone_update`` in ``projects.services`` take ``expected_etag`` themselves, these fold
into them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from projects import services
from projects.models import Milestone, Project
from psa.kernel.etag import etag_require


def project_update_guarded(
    *, project: Project, actor: Any, expected_etag: str | None = None, **changes: Any
) -> Project:
    """``services.project_update`` once ``expected_etag`` names the project as it is now."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        etag_require(locked, expected_etag)
        return services.project_update(project=locked, actor=actor, **changes)


def milestone_update_guarded(
    *, milestone: Milestone, actor: Any, expected_etag: str | None = None, **changes: Any
) -> Milestone:
    """``services.milestone_update`` once ``expected_etag`` names the milestone as it is now."""
    with transaction.atomic():
        locked = Milestone.objects.select_for_update().get(pk=milestone.pk)
        etag_require(locked, expected_etag)
        return services.milestone_update(milestone=milestone, actor=actor, **changes)
