"""Which triggers a market can take now: one answer for a refusal's message and for the status
document, so that neither calls a trigger possible while its guard refuses it.

Each trigger of the market's state goes through its guard before any data is given. A trigger
whose only reasons are data the caller gives when firing it (``guards.Missing``: a motif, a
lot's contractor) is possible, with that data; any other reason blocks it, and says what would
lift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal

from sqlmodel import Session

from clausier.beneficiaries import outcomes
from clausier.config import Settings, get_settings
from clausier.declarations import service as declarations
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
    # what ``close`` weighed, read from the store (None: not weighed); the status reuses it
    close: CloseFacts | None = None

    def apart_from(self, trigger: str) -> TriggersNow:
        """Without ``trigger``: a refusal gives its reasons first, and lists the others."""
        return replace(
            self,
            allowed=[t for t in self.allowed if t != trigger],
            blocked={t: r for t, r in self.blocked.items() if t != trigger},
        )


@dataclass(frozen=True)
class CloseFacts:
    """What ``close`` weighs besides the market and its lots, read from the store (empty when
    ``close`` is not weighed): the outcomes missing or recorded early without a reason, the
    lines still to review and the months not declared."""

    missing_outcomes: list[str] = field(default_factory=list)
    early_outcomes: list[str] = field(default_factory=list)
    to_review: list[tuple[int, str, Decimal]] = field(default_factory=list)
    undeclared: list[tuple[int, str, date]] = field(default_factory=list)

    def into(self, ctx: TransitionContext) -> TransitionContext:
        ctx.missing_outcomes = list(self.missing_outcomes)
        ctx.early_outcomes = list(self.early_outcomes)
        ctx.to_review = list(self.to_review)
        ctx.undeclared = list(self.undeclared)
        return ctx


def weigh(
    *,
    market: Market,
    lots: Sequence[Lot],
    today: date,
    coverage: Coverage | None = None,
    close: CloseFacts | None = None,
) -> TriggersNow:
    """Every trigger of the market's state through its guard, with no data yet (pure)."""
    allowed, needs, blocked = [], {}, {}
    for trigger in triggers_from(market.state):
        spec = TRIGGERS[trigger]
        ctx = (close or CloseFacts()).into(
            TransitionContext(
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
            )
        )
        reasons = spec.guard(ctx)
        if all(isinstance(reason, Missing) for reason in reasons):
            allowed.append(spec.trigger)
            if reasons:
                needs[spec.trigger] = [reason.needs for reason in reasons]
        else:
            blocked[spec.trigger] = list(reasons)
    return TriggersNow(allowed=allowed, needs=needs, blocked=blocked)


def close_facts(
    session: Session,
    market: Market,
    lots: Sequence[Lot],
    triggers: Iterable[str],
    *,
    today: date,
    settings: Settings | None = None,
    standing: outcomes.Standing | None = None,
) -> CloseFacts:
    """What ``close`` waits for, read only when ``close`` is weighed (``standing``: the
    evaluation, when the caller has read it already)."""
    if "close" not in triggers:
        return CloseFacts()
    standing = standing or outcomes.standing(session, market)
    declaration_day = (settings or get_settings()).offer.declaration_day
    settled = declarations.settlement(
        session, market, list(lots), today=today, declaration_day=declaration_day
    )
    return CloseFacts(
        missing_outcomes=standing.missing,
        early_outcomes=list(standing.early),
        to_review=settled.to_review,
        undeclared=settled.undeclared,
    )


def triggers_now(
    session: Session,
    market: Market,
    lots: Sequence[Lot],
    *,
    today: date,
    coverage: Coverage,
    standing: outcomes.Standing | None = None,
) -> TriggersNow:
    """``weigh`` with what the guards read from the store besides the market and its lots (the
    evaluation's standing: read here unless the caller has read it already)."""
    triggers = triggers_from(market.state)
    close = close_facts(session, market, lots, triggers, today=today, standing=standing)
    weighed = weigh(market=market, lots=lots, today=today, coverage=coverage, close=close)
    return replace(weighed, close=close if "close" in triggers else None)
