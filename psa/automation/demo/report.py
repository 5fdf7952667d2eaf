"""What a seeding run created, counted by kind (``manage.py seed_demo`` prints it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SeedReport:
    created: dict[str, int]

    def bump(self, kind: str, n: int = 1) -> None:
        if n:
            self.created[kind] = self.created.get(kind, 0) + n
