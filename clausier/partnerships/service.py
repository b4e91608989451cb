"""What a buyer does with its conventions: renew an explicit one, terminate one.

Each change re-checks the assignment of the buyer's markets in the same transaction, so a
market never keeps a structure through a convention that no longer holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from clausier.errors import ConventionRefused, UnknownRecord
from clausier.formatting import fr_date
from clausier.markets import history
from clausier.markets.models import Market
from clausier.partnerships import assignment, periods
from clausier.partnerships.models import Convention, ConventionStatus, Renewal


def convention_by_ref(session: Session, ref: str) -> Convention:
    convention = session.exec(select(Convention).where(Convention.ref == ref)).first()
    if convention is None:
        raise UnknownRecord("Convention", ref)
    return convention


@dataclass(frozen=True)
class MarketChange:
    ref: str
    coverage_flag: str | None


def refresh_buyer_markets(
    session: Session, *, buyer_id: int, today: date, actor: str = history.COVERAGE
) -> list[MarketChange]:
    """Re-check the assignment of every live market of a buyer; return those that changed (a
    change of structure logged by ``actor``, whose action made it)."""
    changes = []
    markets = session.exec(
        select(Market).where(
            Market.buyer_id == buyer_id, Market.state.not_in(assignment.SETTLED_STATES)
        )
    ).all()
    for market in markets:
        if assignment.refresh(session, market, today=today, actor=actor).changed:
            changes.append(MarketChange(market.ref, market.coverage_flag))
    return changes


def renew(session: Session, ref: str, *, today: date, actor: str = history.COVERAGE) -> Convention:
    """Grant one more period to a convention with explicit renewal."""
    convention = convention_by_ref(session, ref)
    status = periods.status_on(convention, today)
    if convention.renewal == Renewal.tacit:
        raise ConventionRefused(
            f"La convention {ref} se renouvelle tacitement : rien à renouveler. "
            "Pour y mettre fin : clausier convention terminate REF --on DATE."
        )
    if status == ConventionStatus.terminated:
        raise ConventionRefused(
            f"La convention {ref} a été résiliée à compter du {fr_date(convention.terminated_on)} : "
            "elle ne peut plus être renouvelée ; signez une nouvelle convention."
        )
    if status == ConventionStatus.expired:
        raise ConventionRefused(
            f"La convention {ref} a expiré le {fr_date(periods.current_end(convention, today))} : "
            "elle ne peut plus être renouvelée ; signez une nouvelle convention."
        )
    if status == ConventionStatus.draft:
        raise ConventionRefused(
            f"La convention {ref} est un brouillon : elle n'est pas encore signée."
        )
    convention.renewals += 1
    session.add(convention)
    refresh_buyer_markets(session, buyer_id=convention.buyer_id, today=today, actor=actor)
    return convention


def terminate(
    session: Session, ref: str, *, on: date, today: date, actor: str = history.COVERAGE
) -> list[MarketChange]:
    """End a convention from ``on`` (no longer in force that day)."""
    convention = convention_by_ref(session, ref)
    if convention.terminated_on is not None:
        raise ConventionRefused(
            f"La convention {ref} est déjà résiliée à compter du {fr_date(convention.terminated_on)}."
        )
    if on < convention.starts_on:
        raise ConventionRefused(
            f"La date de résiliation {fr_date(on)} précède le début de la convention {ref} "
            f"({fr_date(convention.starts_on)})."
        )
    end = periods.current_end(convention, on)
    if convention.renewal == Renewal.explicit and on > end + timedelta(days=1):
        raise ConventionRefused(
            f"La convention {ref} a expiré le {fr_date(end)} : elle n'est plus à résilier."
        )
    convention.terminated_on = on
    session.add(convention)
    return refresh_buyer_markets(session, buyer_id=convention.buyer_id, today=today, actor=actor)
