"""A lot's hours spread evenly over the days of its execution.

The pace (hours expected by now) and the yearly reports (hours planned for a year, month by
month) both prorate the same way, so a buyer's report and the market page never disagree.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def days_between(first: date, last: date) -> int:
    """Days from ``first`` to ``last``, both included (0 when ``last`` is before ``first``)."""
    return max((last - first).days + 1, 0)


def prorated(hours: int, starts: date, ends: date, first: date, last: date) -> Decimal:
    """``hours`` × the days of [starts, ends] within [first, last] ÷ the days of [starts, ends],
    rounded half up to the cent, as people round by hand."""
    inside = days_between(max(starts, first), min(ends, last))
    total = days_between(starts, ends)
    if not total:
        return Decimal("0.00")
    return (Decimal(hours) * inside / total).quantize(CENT, rounding=ROUND_HALF_UP)
