"""Declaration periods are months, written YYYY-MM, within the execution period."""

from __future__ import annotations

import re
from datetime import date

from dateutil.relativedelta import relativedelta

from clausier.formatting import fr_month

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse(period: str) -> date | None:
    """The first day of the month, or None when ``period`` is not YYYY-MM."""
    match = _PERIOD.match(period.strip()) if isinstance(period, str) else None
    return date(int(match[1]), int(match[2]), 1) if match else None


def label(period: str | date) -> str:
    first = parse(period) if isinstance(period, str) else period
    return fr_month(first) if first else str(period)


def last_day(first: date) -> date:
    return first + relativedelta(months=1, days=-1)


def code(day: date) -> str:
    return f"{day:%Y-%m}"


def problem(period: str, *, starts: date | None, ends: date | None, today: date) -> str | None:
    """Why hours cannot be declared for ``period``, or None."""
    first = parse(period)
    if first is None:
        return f"période « {period} » invalide : attendu AAAA-MM, par exemple 2027-03"
    if (starts and first < starts.replace(day=1)) or (ends and first > ends.replace(day=1)):
        span = f"du {starts:%m/%Y} au {ends:%m/%Y}" if starts and ends else "non fixée"
        return f"{label(first)} est hors de la période d'exécution ({span})"
    if first > today.replace(day=1):
        return f"{label(first)} n'a pas commencé : on déclare les heures d'un mois commencé"
    return None
