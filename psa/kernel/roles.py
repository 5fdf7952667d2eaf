"""Roles and the permission helpers used by pages and the API alike.

A role is a Django group, created by a data migration. A user may hold several roles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse

from psa.kernel import errors


class Role(models.TextChoices):
    CONSULTANT = "consultant", "Consultant"
    PROJECT_MANAGER = "project_manager", "Project manager"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"


def roles_of(user: Any) -> frozenset[str]:
    """The user's roles, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_psa_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names & set(Role.values))
        user._psa_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    """True if the user holds any of ``roles`` (admins hold every role)."""
    held = roles_of(user)
    return Role.ADMIN in held or any(role in held for role in roles)


def require_role(user: Any, *roles: str) -> None:
    """Raise PermissionDenied unless the user holds one of ``roles``."""
    if not has_role(user, *roles):
        names = ", ".join(Role(r).label for r in roles)
        raise errors.PermissionDenied(f"This needs one of these roles: {names}.")


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """View decorator: log in first, then hold one of ``roles`` (403 page otherwise)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def assign_roles(user: Any, roles: Iterable[str]) -> None:
    from django.contrib.auth.models import Group

    user.groups.set(Group.objects.filter(name__in=list(roles)))
    if hasattr(user, "_psa_roles"):
        del user._psa_roles
