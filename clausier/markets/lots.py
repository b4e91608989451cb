"""A market's lots as the award reads them."""

from __future__ import annotations

from sqlmodel import Session, select

from clausier.markets.models import Lot


def lots_to_award(session: Session, market_id: int) -> list[Lot]:
    """The lots that carry a clause and have no contractor yet: the award names one for each."""
    lots = session.exec(
        select(Lot)
        .where(Lot.market_id == market_id, Lot.contractor_id.is_(None))
        .order_by(Lot.number)
    ).all()
    return [lot for lot in lots if lot.carries_clause]
