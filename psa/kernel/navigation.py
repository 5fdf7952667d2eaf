"""The main navigation: each item names the roles that see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from psa.kernel.roles import Role, has_role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...]  # empty: every signed-in user


ITEMS: tuple[NavItem, ...] = (
    NavItem("Home", "home", ()),
    NavItem("Timesheet", "timesheets:week", (Role.CONSULTANT, Role.PROJECT_MANAGER)),
    NavItem("Approvals", "timesheets:approvals", (Role.PROJECT_MANAGER, Role.FINANCE)),
    NavItem("Projects", "projects:list", (Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)),
    NavItem("Leads", "crm:lead_pipeline", (Role.PROJECT_MANAGER, Role.FINANCE)),
    NavItem("Customers", "crm:customer_list", (Role.PROJECT_MANAGER, Role.FINANCE)),
    NavItem("Invoices", "billing:invoice_list", (Role.FINANCE,)),
    NavItem("Payments", "billing:payment_list", (Role.FINANCE,)),
    NavItem("Books", "ledger:index", (Role.FINANCE,)),
    NavItem("Operations", "operations", (Role.FINANCE, Role.ADMIN)),
    NavItem("Admin", "admin:index", (Role.ADMIN,)),
)


def items_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    out = []
    for item in ITEMS:
        if item.roles and not has_role(user, *item.roles):
            continue
        url = reverse(item.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        out.append({"label": item.label, "url": url, "active": active})
    # Only the most specific match is current: /time/approvals/ is Approvals, not Timesheet.
    longest = max((len(i["url"]) for i in out if i["active"]), default=0)
    for i in out:
        i["active"] = i["active"] and len(i["url"]) == longest
    return out
