"""Hooks a higher floor fills, so projects can trigger what it must not import.

Reaching a milestone has consequences in billing (revenue an issued invoice deferred is
recognised now), but billing sits above projects. Billing registers its reaction here when
Django starts (``BillingConfig.ready``); ``milestone_reach`` calls every registered reaction
inside its own transaction, so the milestone and its postings commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol


class MilestoneReached(Protocol):
    def __call__(self, *, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None: ...


_milestone_reached: dict[str, MilestoneReached] = {}


def on_milestone_reached(reaction: MilestoneReached) -> MilestoneReached:
    """Register ``reaction`` (once, however often the app registry starts)."""
    _milestone_reached[f"{reaction.__module__}.{reaction.__qualname__}"] = reaction
    return reaction


def milestone_reached_notify(*, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None:
    for reaction in list(_milestone_reached.values()):
        reaction(milestone=milestone, on=on, actor=actor, actor_label=actor_label)
