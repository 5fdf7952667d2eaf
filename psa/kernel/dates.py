"""The one date policy: which dates and date-times the product accepts, from any door.

Two ranges, both in whole calendar years so the schema can state them exactly:

* **any date** (a project's start, a report's ``as_of``, a filter bound): 1 January 1970 to
  31 December 2100. Far enough for any real business date; near enough that adding a few
  weeks or subtracting a few years never overflows Python's date (years 1..9999) and
  PostgreSQL never sees an absurd year.
* **operational dates** (a payment's ``received_on``, the day time or an expense is logged):
  from 1 January ten years back to 31 December next year, "today" being the product's clock
  (``psa.kernel.clock``: a demo moved into next year accepts that year's following one). A
  typo in the year (0001, 9999, 2062) must not reach the books; periods a firm really works
  in lie within a few years of today.

Date-times must fall inside the first range too, and are handled in UTC: an ISO 8601 offset
may be ±23:59, PostgreSQL takes at most ±15:59.

The API (``psa.kernel.api_fields``), the pages (``date_from_text``) and the services
(``date_require``) all ask this module, so the rule lives in one place.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from psa.kernel import clock, errors

EARLIEST = dt.date(1970, 1, 1)
LATEST = dt.date(2100, 12, 31)
OPERATIONAL_YEARS_BACK = 10
OPERATIONAL_YEARS_AHEAD = 1


def bounds(*, operational: bool = False, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last date accepted."""
    if not operational:
        return EARLIEST, LATEST
    year = (today or clock.today()).year
    return (
        dt.date(year - OPERATIONAL_YEARS_BACK, 1, 1),
        dt.date(year + OPERATIONAL_YEARS_AHEAD, 12, 31),
    )


def date_problem(
    value: dt.date, *, operational: bool = False, today: dt.date | None = None
) -> str | None:
    """Why ``value`` is refused, or None when it is within the policy."""
    if isinstance(value, dt.datetime):
        value = value.date()
    first, last = bounds(operational=operational, today=today)
    if first <= value <= last:
        return None
    return f"Must be between {first.isoformat()} and {last.isoformat()}."


def date_require(
    value: dt.date | None, field: str, *, operational: bool = False, today: dt.date | None = None
) -> dt.date | None:
    """``value`` unchanged, or ValidationFailed naming ``field``. None passes (not given)."""
    if value is None:
        return None
    problem = date_problem(value, operational=operational, today=today)
    if problem:
        raise errors.ValidationFailed(f"{field}: {problem}", fields={field: problem})
    return value


def date_from_text(
    text: str | None, field: str, *, operational: bool = False, default: dt.date | None = None
) -> dt.date | None:
    """A date typed into a page or a query string (ISO ``YYYY-MM-DD``), within the policy.

    Empty gives ``default``; anything else that is not a date in range is ValidationFailed
    naming ``field`` (a 400 on pages and the API alike).
    """
    text = (text or "").strip()
    if not text:
        return default
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise errors.ValidationFailed(
            f"{field}: not a date.", fields={field: "Use the form YYYY-MM-DD."}
        ) from None
    return date_require(value, field, operational=operational)


def datetime_problem(value: dt.datetime) -> str | None:
    """Why a date-time is refused, or None. Naive values are read in the current zone."""
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        instant = value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return "Out of range."
    return date_problem(instant.date())


def datetime_to_utc(value: dt.datetime) -> dt.datetime:
    """An aware date-time in UTC (PostgreSQL refuses offsets beyond ±15:59)."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC)


def year_pattern(*, operational: bool = False, today: dt.date | None = None) -> str:
    """A regular expression for ISO dates/date-times whose year is within the policy.

    The schema states it (``pattern``), so a client generating input knows the range.
    """
    if not operational:
        return r"^(19[7-9][0-9]|20[0-9]{2}|2100)-"
    first, last = bounds(operational=True, today=today)
    years = "|".join(str(y) for y in range(first.year, last.year + 1))
    return f"^({years})-"


def date_in_range(value: dt.date) -> None:
    """A Django validator for forms and model fields: the date policy's first range."""
    problem = date_problem(value)
    if problem:
        raise DjangoValidationError(problem, code="out_of_range")
