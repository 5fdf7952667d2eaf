"""Hooks a higher floor fills, so the ledger can reach what it must not import.

Setting up a legal entity (``ledger.services.books_setup``: the admin, the demo seed, the first
posting) gives it the default chart; the floors above add their own defaults through
``on_entity_setup`` when Django starts — billing gives every entity the default dunning levels
(``BillingConfig.ready``). Each hook runs in ``books_setup``'s transaction and must be
idempotent: setting up an entity twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EntitySetup = Callable[..., Any]

_entity_setup: dict[str, EntitySetup] = {}


def on_entity_setup(name: str, hook: EntitySetup) -> EntitySetup:
    """Register ``hook(legal_entity=...)`` under ``name`` (once, however often Django starts)."""
    _entity_setup[name] = hook
    return hook


def entity_setup_hooks() -> list[EntitySetup]:
    return list(_entity_setup.values())
