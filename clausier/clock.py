"""The application's one clock.

Every "now" and "today" in Clausier comes from here, never from the database server, so that
every process agrees on the date and tests and demos can travel in time (time-machine in tests,
``CLAUSIER_NOW`` for a demo: ``CLAUSIER_NOW=2028-06-01 clausier fire MKT-2027-001 complete``).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
NOW_ENV = "CLAUSIER_NOW"


def _travelled_to() -> datetime | None:
    raw = os.environ.get(NOW_ENV)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        from clausier.errors import InvalidInput

        raise InvalidInput(
            f"{NOW_ENV}={raw!r} n'est pas une date ISO (attendu : AAAA-MM-JJ ou AAAA-MM-JJTHH:MM)."
        ) from exc
    if moment.tzinfo is None:
        if len(raw) <= 10:
            moment = datetime.combine(moment.date(), time(12, 0))
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(UTC)


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return _travelled_to() or datetime.now(UTC)


def today() -> date:
    """Today's date in Europe/Paris: the date facilitators and buyers live in."""
    return now().astimezone(PARIS).date()
