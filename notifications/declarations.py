"""What the declaration reminders ask of the store: has the month been declared?

A statement (even one with no line: nobody worked on the lot that month) stops the reminders of
its month; the sweep checks it at send time, so a late statement still cancels what is pending.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from clausier.declarations.service import is_declared


class DeclarationLedger(Protocol):
    def is_declared(self, session: Session, *, lot_id: int, period: str) -> bool:
        """Whether the contractor of ``lot_id`` has declared the month ``period`` (YYYY-MM)."""
        ...


class StatementLedger:
    def is_declared(self, session: Session, *, lot_id: int, period: str) -> bool:
        return is_declared(session, lot_id=lot_id, period=period)


ledger: DeclarationLedger = StatementLedger()
