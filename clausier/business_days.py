"""Business days (*jours ouvrés*) in Europe/Paris, with the local calendar of a département.

Weekends and French public holidays do not count; Moselle (57) and Alsace (67, 68) also rest on
Good Friday and 26 December, and each overseas département on its own day for the abolition of
slavery. The ``holidays`` package knows them all.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache, lru_cache

import holidays

_ALSACE = {"67", "68"}


@cache
def subdivision(departement: str | None) -> str | None:
    """The ``holidays`` subdivision of a département code, None for the general calendar."""
    if departement in _ALSACE:
        return "6AE"
    if departement in holidays.France.subdivisions:
        return departement
    return None


@cache
def _calendar(subdiv: str | None) -> holidays.HolidayBase:
    return holidays.France(subdiv=subdiv, language="fr")


def holiday_name(day: date, departement: str | None) -> str | None:
    return _calendar(subdivision(departement)).get(day)


@cache
def _closed(subdiv: str | None, year: int) -> frozenset[date]:
    """A year's holidays as a plain set: a lookup in ``holidays`` costs far more."""
    return frozenset(holidays.France(subdiv=subdiv, years=year))


def is_business_day(day: date, departement: str | None) -> bool:
    return day.weekday() < 5 and day not in _closed(subdivision(departement), day.year)


@lru_cache(maxsize=1 << 16)  # a pure function, called for every reminder of every transition
def add_business_days(day: date, count: int, departement: str | None) -> date:
    """``count`` business days after ``day`` (before it when negative).

    A period starts on a business day: an event on a weekend or a holiday counts from the next
    business day (the previous one when counting backwards), as a letter received on a Saturday
    is treated as received on Monday. With 0, that normalised day itself.
    """
    step = timedelta(days=1 if count >= 0 else -1)
    current = day
    while not is_business_day(current, departement):
        current += step
    for _ in range(abs(count)):
        current += step
        while not is_business_day(current, departement):
            current += step
    return current
