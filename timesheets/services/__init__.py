"""Services of the timesheets app (see STYLE.md: writes, named <entity>_<action>).

A package by area: the week a consultant fills in, its approval (by a person or by policy),
and expenses. Import from here.
"""

from timesheets.services.approvals import (
    PolicyDecision,
    week_approve,
    week_auto_approve,
    week_reject,
)
from timesheets.services.expenses import (
    expense_create,
    expense_update,
    expenses_decide,
    receipt_check,
)
from timesheets.services.policies import (
    approval_policy_create,
    approval_policy_delete,
    approval_policy_set,
    approval_policy_update,
)
from timesheets.services.weeks import (
    hours_parse,
    time_cells_save,
    time_entry_save,
    week_copy_previous,
    week_submit,
)

__all__ = [
    "PolicyDecision",
    "approval_policy_create",
    "approval_policy_delete",
    "approval_policy_set",
    "approval_policy_update",
    "expense_create",
    "expense_update",
    "expenses_decide",
    "hours_parse",
    "receipt_check",
    "time_cells_save",
    "time_entry_save",
    "week_approve",
    "week_auto_approve",
    "week_copy_previous",
    "week_reject",
    "week_submit",
]
