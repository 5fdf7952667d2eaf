"""The product's clock: real time, plus an offset a demo or a test may set.

Every date the product uses comes from here: the scheduled tasks, and the default ``today``/
``now`` of services, pages and the API (issue, due and posting dates, payments received,
reports' "as of", "overdue", the week grid, the date policy). Only technical timestamps read
real time (CONTRIBUTING.md, "Dates: one clock"; a test in tests/test_architecture.py).
In production the offset is ignored (``CLOCK_CONTROL`` is off), so nothing but real time can
ever drive billing or collection there. In the demo, ``manage.py clock_advance`` moves every
worker's day forward (the offset lives in the shared cache), so a visitor can watch the cycle
move.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from psa.kernel.ratelimit import CACHE_ERRORS

OFFSET_KEY = "psa:clock:offset-seconds"


def offset() -> dt.timedelta:
    if not getattr(settings, "CLOCK_CONTROL", False):
        return dt.timedelta(0)
    try:
        seconds = int(cache.get(OFFSET_KEY) or 0)
    except CACHE_ERRORS:  # the cache is down: real time (demo and tests only move it)
        seconds = 0
    return dt.timedelta(seconds=seconds)


def now() -> dt.datetime:
    return timezone.now() + offset()


def today() -> dt.date:
    return timezone.localdate(now())


def advance(*, days: int = 0, seconds: int = 0) -> dt.timedelta:
    """Move the clock forward (demo and tests only). Returns the new offset."""
    if not getattr(settings, "CLOCK_CONTROL", False):
        raise RuntimeError("The clock can only be moved where CLOCK_CONTROL is on (demo, tests).")
    total = offset() + dt.timedelta(days=days, seconds=seconds)
    cache.set(OFFSET_KEY, int(total.total_seconds()), timeout=None)
    return total


def reset() -> None:
    cache.delete(OFFSET_KEY)
