"""The service periods of a recurring fee: anchored on its start date ("anniversary") or on
the calendar (months, quarters, half-years, years from 1 January), a partial calendar period
billed pro rata by days."""

from __future__ import annotations

import calendar
import datetime as dt

from billing.models import PeriodAnchor, RecurringFee


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def fee_periods(fee: RecurringFee, *, starting_through: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The fee's service periods that start on or before ``starting_through``.

    Anniversary anchor: each period is counted from the fee's start (never from the previous
    period), so short months never make the periods drift. Calendar anchor: calendar months
    (quarters, half-years, years from 1 January); the first period runs from the start date to
    the end of its calendar period, the last ends on the end date (both billed pro rata,
    ``fee_period_share``)."""
    periods = []
    k = 0
    while True:
        start, end = _period_bounds(fee, k)
        if start > starting_through or (fee.end_date and start > fee.end_date):
            return periods
        if fee.end_date and end > fee.end_date:
            end = fee.end_date
        periods.append((start, end))
        k += 1


def _period_bounds(fee: RecurringFee, k: int) -> tuple[dt.date, dt.date]:
    """The ``k``-th period of the fee, before its end date clips it."""
    months = fee.period_months
    if fee.period_anchor == PeriodAnchor.ANNIVERSARY:
        start = add_months(fee.start_date, k * months)
        return start, add_months(fee.start_date, (k + 1) * months) - dt.timedelta(days=1)
    first, _ = calendar_period(fee.start_date, months)
    start = add_months(first, k * months)
    return max(start, fee.start_date), add_months(start, months) - dt.timedelta(days=1)


def calendar_period(day: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The calendar period of ``months`` months (1, 3, 6, 12; counted from 1 January) that
    holds ``day``."""
    start = dt.date(day.year, (day.month - 1) // months * months + 1, 1)
    return start, add_months(start, months) - dt.timedelta(days=1)


def fee_period_share(fee: RecurringFee, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(days billed, days of the whole period) for one of the fee's periods: equal for a whole
    period; for a calendar fee's partial first or last period, the days it covers out of its
    calendar period's (11 to 31 December: 21 of 31)."""
    if fee.period_anchor == PeriodAnchor.ANNIVERSARY:
        return 1, 1
    whole_start, whole_end = calendar_period(start, fee.period_months)
    return (end - start).days + 1, (whole_end - whole_start).days + 1
