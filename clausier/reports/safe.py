"""Cells that a spreadsheet will not run: formula injection (CSV and XLSX exports).

A market's title or a buyer's name is typed by someone; a text starting with ``=``, ``+``,
``-`` or ``@`` (or a tab or a carriage return, which some spreadsheets skip before reading a
formula) would be run as a formula when the file is opened, e.g. ``=HYPERLINK("http://…")``.
Such a text gets a leading single quote, which makes it plain text. Numbers are left as
numbers: a negative number is a number, not a formula.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | date | datetime | None


def neutralise(value: Cell) -> Cell:
    """``value`` as a cell that cannot be a formula; anything but text is returned as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
