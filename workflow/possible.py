"""Which triggers a market can take now: one answer for a refusal's message and for the status
document, so that neither calls a trigger possible while its guard refuses it.

Each trigger of the market's state goes through its guard before any data is given. A trigger
whose only reasons are data the caller gives when firing it (``guards.Missing``: a motif, a
lot's contractor) is possible, with that data; any other reason blocks it, and says what would
lift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time

from sqlmodel import Session

from clausier.beneficiaries import outcomes
from clausier.markets.models import Lot, Market
from clausier.partnerships.coverage import Coverage
from workflow.context import TransitionContext
from workflow.guards import Missing
from workflow.lifecycle import TRIGGERS, triggers_from


@dataclass(frozen=True)
class TriggersNow:
    allowed: list[str]  # whose guards pass now, in table order (some with the caller's data)
    needs: dict[str, list[str]]  # trigger → the data it takes when fired (« un motif »)
    blocked: dict[str, list[str]]  # trigger → why its guard refuses it now, and what would lift it

    def apart_from(self, trigger: str) -> TriggersNow:
        """Without ``trigger``: a refusal gives its reasons first, and lists the others."""
        return replace(
            self,
            allowed=[t for t in self.allowed if t != trigger],
            blocked={t: r for t, r in self.blocked.items() if t != trigger},
        )


def weigh(
    *,
    market: Market,
    lots: Sequence[Lot],
    today: date,
    coverage: Coverage | None = None,
    missing_outcomes: Sequence[str] = (),
) -> TriggersNow:
    """Every trigger of the market's state through its guard, with no data yet (pure)."""
    allowed, needs, blocked = [], {}, {}
    for trigger in triggers_from(market.state):
        spec = TRIGGERS[trigger]
        ctx = TransitionContext(
            market=market,
            lots=list(lots),
            trigger=spec.trigger,
            source=market.state,
            dest=spec.dest,
            actor="",
            payload=None,
            at=datetime.combine(today, time()),  # guards read the day only
            today=today,
            coverage=coverage,
            missing_outcomes=list(missing_outcomes),
        )
        reasons = spec.guard(ctx)
        if all(isinstance(reason, Missing) for reason in reasons):
            allowed.append(spec.trigger)
            if reasons:
                needs[spec.trigger] = [reason.needs for reason in reasons]
        else:
            blocked[spec.trigger] = list(reasons)
    return TriggersNow(allowed=allowed, needs=needs, blocked=blocked)


def missing_outcomes_for(session: Session, market: Market, triggers: Iterable[str]) -> list[str]:
    """The six-month outcomes ``close`` waits for, read only when ``close`` is weighed."""
    return outcomes.missing_outcomes(session, market) if "close" in triggers else []


def triggers_now(
    session: Session,
    market: Market,
    lots: Sequence[Lot],
    *,
    today: date,
    coverage: Coverage,
    missing_outcomes: Sequence[str] | None = None,
) -> TriggersNow:
    """``weigh`` with what the guards read from the store besides the market and its lots (the
    outcomes still missing: read here unless the caller has read them already)."""
    if missing_outcomes is None:
        missing_outcomes = missing_outcomes_for(session, market, triggers_from(market.state))
    return weigh(
        market=market, lots=lots, today=today, coverage=coverage, missing_outcomes=missing_outcomes
    )
