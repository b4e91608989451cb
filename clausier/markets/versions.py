"""A market's version: every change of the market moves it, so that a form or a request that
read an older one is refused instead of overwriting what happened meanwhile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from clausier.errors import VersionConflict
from clausier.markets.models import Market

_MARKETS = Market.__table__


def bump_version(session: Session, market: Market, now: datetime) -> None:
    """The version moves first, through the connection (nothing to flush), guarded by the one
    read and the state: a change made meanwhile (a transition, another edit) refuses this one
    before it writes anything."""
    bumped = session.connection().execute(
        update(_MARKETS)
        .where(
            _MARKETS.c.id == market.id,
            _MARKETS.c.version == market.version,
            _MARKETS.c.state == market.state,
        )
        .values(version=market.version + 1, updated_at=now)
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=market.ref, expected=market.version)
    set_committed_value(market, "version", market.version + 1)
    set_committed_value(market, "updated_at", now)
