"""What conventions cover, named: each EPCI of the départements concerned, covered whole, in part
(the communes a convention names) or not; and the markets in a structure's territory.

A gap is named, not only counted ("no facilitator, no social clause"): the coverage page lists
the EPCIs and communes a buyer's conventions leave out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from clausier.markets.models import Market
from clausier.partnerships import periods
from clausier.partnerships.assignment import SETTLED_STATES, market_coverage
from clausier.partnerships.coverage import Coverage
from clausier.partnerships.models import Convention, ConventionTerritory, TerritoryKind
from clausier.referential.models import Commune, Departement, Epci

WITHOUT_EPCI = ""  # the code of the few communes in no EPCI, grouped as one


@dataclass(frozen=True)
class NamedCommune:
    """A commune a convention names itself, and the structures whose conventions do."""

    code: str
    name: str
    structures: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


@dataclass(frozen=True)
class EpciCoverage:
    """One EPCI's communes in one département, and how the conventions cover them."""

    code: str  # WITHOUT_EPCI for the communes in none
    name: str
    level: TerritoryKind | None  # how it is covered whole: its own convention or the département's
    structures: tuple[int, ...]  # the structures covering it whole, at that level
    named: tuple[NamedCommune, ...]  # communes covered by a convention naming them
    uncovered: tuple[tuple[str, str], ...]  # (code, name) of the communes nothing covers

    @property
    def status(self) -> str:
        """covered (whole), partial (some communes), uncovered."""
        if self.level is not None:
            return "covered"
        return "partial" if self.named else "uncovered"

    @property
    def ambiguous(self) -> bool:
        """Two structures at the same level: the buyer chooses market by market."""
        return len(self.structures) > 1


@dataclass(frozen=True)
class DepartementCoverage:
    code: str
    name: str
    structures: tuple[int, ...]  # the structures whose conventions cover the whole département
    epcis: tuple[EpciCoverage, ...]


def in_force(conventions: Iterable[Convention], on: date) -> list[Convention]:
    return [c for c in conventions if periods.in_force(c, on)]


def _territories(
    session: Session, conventions: list[Convention]
) -> list[tuple[Convention, str, str]]:
    by_id = {c.id: c for c in conventions}
    rows = session.exec(
        select(ConventionTerritory).where(ConventionTerritory.convention_id.in_(list(by_id)))
    ).all()
    return [(by_id[row.convention_id], row.kind, row.code) for row in rows]


def departements_of(
    session: Session, conventions: list[Convention], communes: Iterable[str] = ()
) -> set[str]:
    """The départements the conventions' territories and the given communes lie in."""
    departements, epcis, named = set(), set(), set(communes)
    for _convention, kind, code in _territories(session, conventions):
        {"departement": departements, "epci": epcis, "commune": named}[kind].add(code)
    if epcis or named:
        departements |= set(
            session.exec(
                select(Commune.departement_code)
                .where(Commune.epci_code.in_(epcis) | Commune.code.in_(named))
                .distinct()
            ).all()
        )
    return departements


def territory_coverage(
    session: Session, conventions: list[Convention], departements: Iterable[str], *, on: date
) -> list[DepartementCoverage]:
    """Each département, each of its EPCIs, covered by the conventions in force on ``on``."""
    covering: dict[tuple[str, str], set[int]] = defaultdict(set)
    for convention, kind, code in _territories(session, in_force(conventions, on)):
        covering[(kind, code)].add(convention.structure_id)
    wanted = sorted(set(departements))
    names = dict(session.exec(select(Departement.code, Departement.name).where(
        Departement.code.in_(wanted))).all())  # fmt: skip
    communes = defaultdict(lambda: defaultdict(list))
    for code, name, epci, dep in session.exec(
        select(Commune.code, Commune.name, Commune.epci_code, Commune.departement_code)
        .where(Commune.departement_code.in_(wanted))
        .order_by(Commune.name, Commune.code)
    ).all():
        communes[dep][epci or WITHOUT_EPCI].append((code, name))
    epci_codes = {epci for by_epci in communes.values() for epci in by_epci if epci}
    epci_names = dict(
        session.exec(select(Epci.code, Epci.name).where(Epci.code.in_(epci_codes))).all()
    )
    out = []
    for dep in wanted:
        whole = covering.get(("departement", dep), set())
        epcis = []
        for epci, members in communes[dep].items():
            own = covering.get(("epci", epci), set()) if epci else set()
            level = TerritoryKind.epci if own else TerritoryKind.departement if whole else None
            named = tuple(
                NamedCommune(code, name, tuple(sorted(covering[("commune", code)])))
                for code, name in members
                if ("commune", code) in covering
            )
            epcis.append(
                EpciCoverage(
                    code=epci,
                    name=epci_names.get(epci, "Communes sans EPCI"),
                    level=level,
                    structures=tuple(sorted(own or whole)),
                    named=named,
                    uncovered=()
                    if level
                    else tuple(m for m in members if ("commune", m[0]) not in covering),
                )
            )
        epcis.sort(key=lambda e: (e.code == WITHOUT_EPCI, e.name))
        out.append(
            DepartementCoverage(dep, names.get(dep, dep), tuple(sorted(whole)), tuple(epcis))
        )
    return out


def structure_markets(
    session: Session, *, structure_id: int, today: date
) -> list[tuple[Market, Coverage]]:
    """The running markets in a structure's territory: those of the buyers it has a convention
    with, where one of its conventions in force covers the place (whether it follows them, the
    buyer has still to choose, or a more specific convention gives them to another)."""
    conventions = session.exec(
        select(Convention).where(Convention.structure_id == structure_id)
    ).all()
    codes = defaultdict(set)
    for _convention, kind, code in _territories(session, list(conventions)):
        codes[kind].add(code)
    places = select(Commune.code).where(  # the communes of its territories, before coverage
        Commune.code.in_(codes["commune"])
        | Commune.parent_code.in_(codes["commune"])
        | Commune.epci_code.in_(codes["epci"])
        | Commune.departement_code.in_(codes["departement"])
    )
    markets = session.exec(
        select(Market)
        .where(
            Market.buyer_id.in_({c.buyer_id for c in conventions}),
            Market.state.not_in(SETTLED_STATES),
            Market.commune_code.in_(places),
        )
        .order_by(Market.ref)
    ).all()
    found = []
    for market in markets:
        coverage = market_coverage(session, market, today=today)
        if any(cover.convention.structure_id == structure_id for cover in coverage.covers):
            found.append((market, coverage))
    return found
