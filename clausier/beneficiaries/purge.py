"""Erasing beneficiaries' personal data once the retention period has passed (RGPD).

A person's name (and the free-text reason of a case-by-case eligibility, which may describe
them) is erased when every market where the person has hours was closed before the date given;
someone still working on a live market, or on one closed later, keeps it. The pseudonymous
record (code, public, sex, age band, dates), the hours and the outcomes stay: the statistics
do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import func
from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary
from clausier.declarations.models import DeclarationLine
from clausier.markets.models import Lot, Market, TransitionLog


@dataclass
class PurgeReport:
    closed_before: date
    markets: list[str] = field(default_factory=list)  # closed before the date
    erased: list[str] = field(default_factory=list)  # codes whose name or reason was erased
    kept: list[str] = field(default_factory=list)  # codes still needed by a later market

    def as_dict(self) -> dict:
        return {
            "closed_before": self.closed_before.isoformat(),
            "markets": self.markets,
            "erased": self.erased,
            "kept": self.kept,
        }


def purge(session: Session, *, closed_before: date, now: datetime) -> PurgeReport:
    """Erase what the retention period no longer allows; the caller commits."""
    report = PurgeReport(closed_before)
    limit = datetime.combine(closed_before, time.min, tzinfo=UTC)
    closed_on = (
        select(TransitionLog.market_id, func.max(TransitionLog.at).label("at"))
        .where(TransitionLog.to_state == "closed")
        .group_by(TransitionLog.market_id)
        .subquery()
    )
    old = session.exec(
        select(Market.id, Market.ref)
        .join(closed_on, closed_on.c.market_id == Market.id)
        .where(Market.state == "closed", closed_on.c.at < limit)
        .order_by(Market.ref)
    ).all()
    old_ids = {market_id for market_id, _ref in old}
    report.markets = [ref for _id, ref in old]
    if not old_ids:
        return report
    worked = session.exec(
        select(DeclarationLine.beneficiary_id, Lot.market_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .distinct()
    ).all()
    markets_of: dict[int, set[int]] = {}
    for beneficiary_id, market_id in worked:
        markets_of.setdefault(beneficiary_id, set()).add(market_id)
    candidates = [b for b, markets in markets_of.items() if markets & old_ids]
    people = session.exec(
        select(Beneficiary).where(Beneficiary.id.in_(candidates)).order_by(Beneficiary.code)
    ).all()
    for person in people:
        if not markets_of[person.id] <= old_ids:
            if person.name or person.public_reason:
                report.kept.append(person.code)
            continue
        if person.name is None and person.public_reason is None:
            continue  # already erased
        person.name, person.public_reason, person.purged_at = None, None, now
        session.add(person)
        report.erased.append(person.code)
    session.flush()
    return report
