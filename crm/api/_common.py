"""What the crm API views share: the sales permission, people to choose, a reason."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.hooks import delivery
from psa.kernel.api import Serializer, SlugRelated, role_permission
from psa.kernel.roles import Role

Sales = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)

User = get_user_model()


def people() -> Any:
    return User.objects.filter(is_active=True)


class ReasonIn(Serializer):
    reason = serializers.CharField(max_length=500)


@extend_schema_field(OpenApiTypes.STR)
class TemplateField(SlugRelated):
    """A project template by code. Templates belong to projects, the floor above: the choices
    come from ``crm.hooks`` (filled by ``ProjectsConfig.ready``), asked at validation time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self) -> Any:
        return delivery().templates()
