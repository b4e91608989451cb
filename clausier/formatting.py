"""French formatting of dates, amounts and hours, for what people read."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from clausier.clock import PARIS

THIN = "\u202f"  # narrow no-break space: the French thousands separator


def fr_date(value: date | str | None) -> str:
    if value is None:
        return "non fixée"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def fr_moment(value: datetime | str, *, with_time: bool = True) -> str:
    """An instant as people in France read it: Paris time, « 25/11/2026 10:00 »."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(PARIS)
    return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


def fr_number(value: Decimal | float | int | str, decimals: int = 0) -> str:
    number = Decimal(str(value))
    if decimals == 0 and number != number.to_integral_value():
        decimals = 2
    text = f"{number:,.{decimals}f}"
    return text.replace(",", THIN).replace(".", ",")


def fr_size(size: int) -> str:
    """A size in bytes as people read it: « 64 ko », « 1 Mo », « 2,5 Mo » (1 Mo = 10⁶ octets)."""
    for unit, step in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if size >= step:
            value = round(Decimal(size) / step, 1)
            return f"{fr_number(value, 0 if value == value.to_integral_value() else 1)} {unit}"
    return f"{size} octet{'s' if size > 1 else ''}"


def fr_amount(value: Decimal | float | str) -> str:
    return f"{fr_number(value)} € HT"


def fr_hours(value: Decimal | float | int | str | None) -> str:
    if value is None:
        return "non fixées"
    return f"{fr_number(value)} h"


def hours_phrase(value: Decimal | float | int) -> str:
    """« 1 400 heures », « 1 heure »."""
    number = Decimal(str(value))
    return f"{fr_number(number)} heure{'s' if number > 1 else ''}"


MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]  # fmt: skip


def fr_month(value: date) -> str:
    """« mars 2027 »."""
    return f"{MONTHS[value.month - 1]} {value.year}"
