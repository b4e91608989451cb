"""The interface the declaration reminders are written against.

The hours declarations arrive with their own issue; until then no period is ever declared, so
the "missing" reminders go out. That issue replaces ``ledger`` with its store.
"""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session


class DeclarationLedger(Protocol):
    def is_declared(self, session: Session, *, lot_id: int, period: str) -> bool:
        """Whether the contractor of ``lot_id`` has declared the month ``period`` (YYYY-MM)."""
        ...


class NoDeclarationsYet:
    def is_declared(self, session: Session, *, lot_id: int, period: str) -> bool:
        return False


ledger: DeclarationLedger = NoDeclarationsYet()
