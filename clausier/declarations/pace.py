"""Progress and pace of a lot: target, validated, submitted, and the hours expected by now.

The hours expected are the target prorated over the execution period, up to the last day of the
last month whose declaration is already due (the 10th of the next month, by default): a
contractor is not behind for a month it may still declare. Behind pace means more than
``declarations.pace_threshold`` short of that figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import func
from sqlmodel import Session, select

from clausier.config import Settings
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.declarations.proration import prorated
from clausier.markets.models import Lot, Market
from notifications.schedule import declaration_deadline


@dataclass(frozen=True)
class Progress:
    lot_id: int
    target: int
    validated: Decimal
    submitted: Decimal  # declared, not yet reviewed
    expected: Decimal  # the target prorated up to ``expected_on``
    expected_on: date | None  # None: no declaration due yet
    behind: bool

    @property
    def gap(self) -> Decimal:
        return max(self.expected - self.validated, Decimal(0))

    @property
    def share_validated(self) -> Decimal:
        return (self.validated / self.target) if self.target else Decimal(0)

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "validated": str(self.validated),
            "submitted": str(self.submitted),
            "expected": str(self.expected),
            "expected_on": self.expected_on.isoformat() if self.expected_on else None,
            "behind": self.behind,
            "gap": str(self.gap),
        }


def expected_on(
    market: Market, today: date, *, declaration_day: int, departement: str | None
) -> date | None:
    """The last day of the last execution month whose declaration is due by ``today``."""
    starts, ends = market.execution_starts_on, market.execution_ends_on
    if starts is None or ends is None:
        return None
    month = min(today.replace(day=1), ends.replace(day=1))
    while month >= starts.replace(day=1):
        if declaration_deadline(month, declaration_day, departement) <= today:
            return min(month + relativedelta(months=1, days=-1), ends)
        month -= relativedelta(months=1)
    return None


def lot_progress(
    session: Session,
    market: Market,
    lots: list[Lot],
    *,
    today: date,
    settings: Settings,
    departement: str | None,
    submitted: dict[int, Decimal] | None = None,
) -> dict[int, Progress]:
    """The progress of each clause lot of ``market``, by lot id. ``submitted``: the hours
    declared and not yet reviewed, by lot, when the caller read them with the lots."""
    clause_lots = [lot for lot in lots if lot.carries_clause]
    if not clause_lots:
        return {}
    if submitted is None:
        submitted = dict(
            session.exec(
                select(DeclarationLine.lot_id, func.sum(DeclarationLine.hours))
                .where(
                    DeclarationLine.lot_id.in_([lot.id for lot in clause_lots]),
                    DeclarationLine.status == LineStatus.submitted,
                )
                .group_by(DeclarationLine.lot_id)
            ).all()
        )
    until = expected_on(
        market, today, declaration_day=settings.offer.declaration_day, departement=departement
    )
    threshold = settings.declarations.pace_threshold
    out = {}
    for lot in clause_lots:
        expected = (
            prorated(
                lot.hours,
                market.execution_starts_on,
                market.execution_ends_on,
                market.execution_starts_on,
                until,
            )
            if until
            else Decimal(0)
        )
        behind = (
            market.state == "execution"
            and expected > 0
            and lot.hours_validated < expected * (1 - threshold)
        )
        out[lot.id] = Progress(
            lot_id=lot.id,
            target=lot.hours,
            validated=lot.hours_validated,
            submitted=Decimal(submitted.get(lot.id) or 0),
            expected=expected,
            expected_on=until,
            behind=behind,
        )
    return out
