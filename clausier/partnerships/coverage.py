"""Who covers this place: the conventions of a buyer in force on a date over a commune.

The most specific territory wins (commune, then EPCI, then département). Two different
structures at the winning level is an ambiguity that the buyer resolves by an explicit
assignment: it is reported, never silently settled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache

from sqlalchemy import and_, bindparam, or_
from sqlmodel import Session, select

from clausier.partnerships import periods
from clausier.partnerships.models import SPECIFICITY, Convention, ConventionTerritory, TerritoryKind
from clausier.referential.service import Place


class CoverageStatus(StrEnum):
    covered = "covered"
    ambiguous = "ambiguous"
    uncovered = "uncovered"


COVERAGE_LABELS = {
    CoverageStatus.covered: "couvert",
    CoverageStatus.ambiguous: "ambigu (plusieurs structures au même niveau)",
    CoverageStatus.uncovered: "non couvert",
}


@dataclass(frozen=True)
class Cover:
    """One convention covering the place through one of its territories."""

    convention: Convention
    kind: TerritoryKind
    code: str

    @property
    def level(self) -> int:
        return SPECIFICITY[self.kind]


@dataclass(frozen=True)
class Coverage:
    place: Place
    on: date
    covers: tuple[Cover, ...] = field(default_factory=tuple)

    @property
    def winning(self) -> tuple[Cover, ...]:
        """The covers at the most specific level present."""
        if not self.covers:
            return ()
        best = max(cover.level for cover in self.covers)
        return tuple(cover for cover in self.covers if cover.level == best)

    @property
    def candidate_structures(self) -> set[int]:
        return {cover.convention.structure_id for cover in self.winning}

    @property
    def status(self) -> CoverageStatus:
        structures = self.candidate_structures
        if not structures:
            return CoverageStatus.uncovered
        return CoverageStatus.covered if len(structures) == 1 else CoverageStatus.ambiguous

    @property
    def chosen(self) -> Cover | None:
        """The cover that assigns the structure, when there is no ambiguity.

        One structure holding two conventions at the same level is no ambiguity: the one that
        stays in force longest is taken.
        """
        if self.status != CoverageStatus.covered:
            return None
        return max(
            self.winning,
            key=lambda c: (periods.last_day_in_force(c.convention, self.on), c.convention.ref),
        )

    def covers_for_structure(self, structure_id: int) -> list[Cover]:
        return sorted(
            (c for c in self.covers if c.convention.structure_id == structure_id),
            key=lambda c: (-c.level, c.convention.ref),
        )


@cache
def _covers_query(with_epci: bool):
    """The buyer's conventions over a place, built once per shape: every transition asks."""
    code = ConventionTerritory.code
    clauses = [
        and_(
            ConventionTerritory.kind == TerritoryKind.commune,
            code.in_(bindparam("communes", expanding=True)),
        ),
        and_(
            ConventionTerritory.kind == TerritoryKind.departement,
            code == bindparam("departement"),
        ),
    ]
    if with_epci:
        clauses.append(
            and_(ConventionTerritory.kind == TerritoryKind.epci, code == bindparam("epci"))
        )
    return (
        select(Convention, ConventionTerritory.kind, ConventionTerritory.code)
        .join(ConventionTerritory, ConventionTerritory.convention_id == Convention.id)
        .where(Convention.buyer_id == bindparam("buyer_id"), or_(*clauses))
    )


def covers_of(
    session: Session, *, buyer_id: int, place: Place, on: date | None = None
) -> list[Cover]:
    """The buyer's conventions over the place; only those in force on ``on`` when given."""
    params = {
        "buyer_id": buyer_id,
        "communes": [place.code] + ([place.parent_code] if place.parent_code else []),
        "departement": place.departement_code,
    }
    if place.epci_code:
        params["epci"] = place.epci_code
    rows = session.exec(_covers_query(bool(place.epci_code)), params=params).all()
    return [
        Cover(convention=conv, kind=TerritoryKind(kind), code=code)
        for conv, kind, code in rows
        if on is None or periods.in_force(conv, on)
    ]


def coverage_of(session: Session, *, buyer_id: int, place: Place, on: date) -> Coverage:
    return Coverage(
        place=place, on=on, covers=tuple(covers_of(session, buyer_id=buyer_id, place=place, on=on))
    )


def structures_named(covers: Iterable[Cover]) -> list[int]:
    return sorted({c.convention.structure_id for c in covers})
