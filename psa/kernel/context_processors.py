from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from psa.kernel.navigation import items_for
from psa.kernel.roles import Role, roles_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    held = roles_of(user)
    return {
        "nav_items": items_for(user, request.path),
        "user_roles": [Role(r).label for r in Role.values if r in held],
    }
