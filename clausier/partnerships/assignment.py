"""Which structure follows a market, and why.

A market keeps the structure it was assigned while the convention that assigned it is in force;
when that convention lapses the market is re-assigned from the conventions then in force, or
flagged when none covers it any more (the structure stays on record so the history is clear).

A change of the structure that follows a market is logged (``edit``, by the person who chose it,
or ``history.COVERAGE`` when the conventions decided); its first assignment, on creation, and
the coverage flag alone (recomputed every day) are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from clausier import clock
from clausier.errors import AssignmentRefused, VersionConflict
from clausier.markets import history
from clausier.markets.models import Market
from clausier.partners.models import Structure
from clausier.partnerships import periods
from clausier.partnerships.coverage import Coverage, CoverageStatus, coverage_of
from clausier.partnerships.models import Convention
from clausier.referential.service import place_of
from clausier.tasks.service import follow_structure

# States in which nobody follows the market any more.
SETTLED_STATES = frozenset({"closed", "not_clausable", "abandoned"})
# Before execution the clause is being written for the consultation: the convention must be in
# force by then, not only today.
PREPARATION_STATES = frozenset({"identification", "insertion_offer", "consultation"})


ASSIGNMENT_FIELDS = ("structure_id", "convention_id", "assignment", "coverage_flag")


def relevant_date(market: Market, today: date) -> date:
    """The date on which a facilitator's service is needed for this market."""
    if market.state in PREPARATION_STATES and market.consultation_on:
        return max(today, market.consultation_on)
    return today


@dataclass(frozen=True)
class Assignment:
    """The outcome of checking a market's assignment on a date."""

    coverage: Coverage
    changed: bool


def market_coverage(session: Session, market: Market, *, today: date) -> Coverage:
    place = place_of(session, market.commune_code)
    return coverage_of(
        session, buyer_id=market.buyer_id, place=place, on=relevant_date(market, today)
    )


def _assigned(session: Session, structure_id: int | None, convention_id: int | None,
              how: str | None) -> dict:  # fmt: skip
    """Who follows the market, as the log names them (by ref)."""
    structure = session.get(Structure, structure_id) if structure_id else None
    convention = session.get(Convention, convention_id) if convention_id else None
    return {
        "structure": structure.ref if structure else None,
        "convention": convention.ref if convention else None,
        "assignment": how,
    }


def _log(session: Session, market: Market, before: tuple, after: tuple, *, actor: str) -> None:
    changes = history.changed(_assigned(session, *before[:3]), _assigned(session, *after[:3]))
    history.record_edit(session, market, changes, actor=actor)
    session.flush()  # logged before whatever follows in the transaction (a transition's row)


def refresh(
    session: Session, market: Market, *, today: date, actor: str = history.COVERAGE
) -> Assignment:
    """Bring the market's assignment and coverage flag up to date (no commit); a change of its
    structure is logged, by ``actor``."""
    coverage = market_coverage(session, market, today=today)
    before = (market.structure_id, market.convention_id, market.assignment, market.coverage_flag)
    after = before
    if market.state not in SETTLED_STATES:
        structure_id, convention_id, how, _flag = before
        still_holds = convention_id is not None and any(
            cover.convention.id == convention_id for cover in coverage.covers
        )
        if still_holds:
            # kept while in force; but structures at the winning level that the buyer has not
            # chosen between (a convention signed since) are still to settle: flagged, not hidden
            settled = coverage.status != CoverageStatus.ambiguous or (
                how == "explicit" and structure_id in coverage.candidate_structures
            )
            after = (structure_id, convention_id, how,
                     None if settled else CoverageStatus.ambiguous.value)  # fmt: skip
        elif (chosen := coverage.chosen) is not None:
            after = (chosen.convention.structure_id, chosen.convention.id, "automatic", None)
        else:
            after = (structure_id, None, None if structure_id is None else how,
                     coverage.status.value)  # fmt: skip
    if after == before:  # untouched: a daily check of every market must not dirty the session
        return Assignment(coverage=coverage, changed=False)
    for name, value in zip(ASSIGNMENT_FIELDS, after, strict=True):
        setattr(market, name, value)
    session.add(market)
    if after[0] != before[0] and any(value is not None for value in before):
        _log(session, market, before, after, actor=actor)  # not its first check, on creation
    if after[:2] != before[:2]:  # another structure, or a convention with other services
        follow_structure(session, market)
    return Assignment(coverage=coverage, changed=True)


def _bump_version(session: Session, market: Market, expected: int) -> None:
    """A change of who follows the market is a change of the market: its version moves, and a
    choice made meanwhile (another tab, a transition) refuses this one before anything is
    written."""
    markets = Market.__table__
    now = clock.now()
    bumped = session.execute(
        update(markets)
        .where(markets.c.id == market.id, markets.c.version == expected)
        .values(version=expected + 1, updated_at=now)
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=market.ref, expected=expected)
    set_committed_value(market, "version", expected + 1)
    set_committed_value(market, "updated_at", now)


def assign_explicitly(
    session: Session,
    market: Market,
    *,
    structure: Structure,
    today: date,
    actor: str,
    expected_version: int | None = None,
) -> Convention:
    """The buyer's choice of structure, among those with a convention covering the market,
    logged by ``actor``. ``expected_version``: the version the buyer saw (a form's), refused
    with ``VersionConflict`` when the market changed since."""
    if expected_version is not None and market.version != expected_version:
        raise VersionConflict(market=market.ref, expected=expected_version)
    if market.state in SETTLED_STATES:
        raise AssignmentRefused(
            f"Le marché {market.ref} est terminé ({market.state}) : plus aucune structure ne le suit."
        )
    coverage = market_coverage(session, market, today=today)
    covers = coverage.covers_for_structure(structure.id)
    if not covers:
        raise AssignmentRefused(
            f"{structure.name} n'a aucune convention en vigueur le "
            f"{coverage.on.strftime('%d/%m/%Y')} avec cet acheteur qui couvre "
            f"{coverage.place.label} : elle ne peut pas suivre le marché {market.ref}."
        )
    chosen = max(
        covers, key=lambda c: (c.level, periods.last_day_in_force(c.convention, coverage.on))
    )
    before = (market.structure_id, market.convention_id, market.assignment)
    if (*before, market.coverage_flag) != (structure.id, chosen.convention.id, "explicit", None):
        _bump_version(session, market, market.version)
    market.structure_id = structure.id
    market.convention_id = chosen.convention.id
    market.assignment = "explicit"
    market.coverage_flag = None
    session.add(market)
    _log(session, market, before, (structure.id, chosen.convention.id, "explicit"), actor=actor)
    follow_structure(session, market)
    return chosen.convention


def settle(
    session: Session,
    market: Market,
    *,
    structure: Structure,
    expected_version: int,
    today: date,
    actor: str,
) -> Convention:
    """The buyer settles an ambiguity: one of the structures with a convention at the winning
    level (``Coverage.candidate_structures``), on the version it saw."""
    coverage = market_coverage(session, market, today=today)
    if coverage.status != CoverageStatus.ambiguous:
        raise AssignmentRefused(
            f"Le marché {market.ref} n'est pas à arbitrer : "
            + ("une seule structure le couvre." if coverage.status == CoverageStatus.covered
               else "aucune convention ne le couvre.")
        )  # fmt: skip
    if structure.id not in coverage.candidate_structures:
        raise AssignmentRefused(
            f"{structure.name} n'est pas l'une des structures entre lesquelles choisir pour "
            f"le marché {market.ref}."
        )
    return assign_explicitly(session, market, structure=structure, today=today, actor=actor,
                             expected_version=expected_version)  # fmt: skip
