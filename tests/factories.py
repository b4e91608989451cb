"""Factories in domain words: ``market(session, buyer=b, in_commune="50129", state="consultation")``.

Places used across the tests (official codes):
- Cherbourg-en-Cotentin 50129, in the CA du Cotentin 200067205, Manche (50);
- Valognes 50615, also in the CA du Cotentin;
- Saint-Lô 50502, in Saint-Lô Agglo 200066389, Manche;
- Caen 14118, in Caen la Mer 200065597, Calvados (14).
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlmodel import Session, select

from clausier import clock
from clausier.config import get_settings
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships import assignment
from clausier.partnerships.models import Convention, ConventionService, ConventionTerritory, Service
from clausier.tasks.service import open_initial_tasks
from clausier.validation.identifiers import territory_kind_of

CHERBOURG, VALOGNES, SAINT_LO, CAEN = "50129", "50615", "50502", "14118"
COTENTIN_EPCI, SAINT_LO_EPCI, CAEN_EPCI = "200067205", "200066389", "200065597"
MANCHE, CALVADOS = "50", "14"

_numbers = itertools.count(1)


def siret(seed: int | None = None) -> str:
    """A SIRET whose Luhn key is right."""
    body = f"{(seed if seed is not None else next(_numbers)) % 10**13:013d}"
    for last in range(10):
        candidate = body + str(last)
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def buyer(session: Session, name: str = "Région Normandie") -> Buyer:
    row = Buyer(siret=siret(), name=name, email=f"achats{next(_numbers)}@acheteur.example")
    session.add(row)
    session.flush()
    return row


def structure(
    session: Session, ref: str | None = None, *, kind: str = "maison_emploi", facilitators: int = 1
) -> Structure:
    ref = ref or f"structure-{next(_numbers)}"
    row = Structure(
        ref=ref, name=f"Maison de l'emploi {ref}", kind=kind, email=f"clauses@{ref}.example"
    )
    session.add(row)
    session.flush()
    for index in range(facilitators):
        session.add(
            Facilitator(
                structure_id=row.id, email=f"f{index}@{ref}.example", name=f"Facilitateur {index}"
            )
        )
    session.flush()
    return row


def contractor(session: Session, name: str = "Bâtiments du Bessin SARL") -> Contractor:
    row = Contractor(siret=siret(), name=name, email=f"contact{next(_numbers)}@entreprise.example")
    session.add(row)
    session.flush()
    return row


def convention(
    session: Session,
    *,
    buyer: Buyer,
    structure: Structure,
    covering: tuple[str, ...] = (COTENTIN_EPCI,),
    starts_on: date = date(2026, 1, 1),
    ends_on: date = date(2026, 12, 31),
    renewal: str = "tacit",
    renewed_tacitly_until: date | None = None,
    ref: str | None = None,
    services: tuple[str, ...] | None = None,
) -> Convention:
    """``services``: those the convention includes (default: all eight);
    ``renewed_tacitly_until``: a tacit convention's cap (``renewal_until``)."""
    row = Convention(
        ref=ref or f"CONV-{next(_numbers):04d}",
        buyer_id=buyer.id,
        structure_id=structure.id,
        starts_on=starts_on,
        ends_on=ends_on,
        renewal=renewal,
        renewal_until=renewed_tacitly_until,
    )
    session.add(row)
    session.flush()
    for code in covering:
        session.add(
            ConventionTerritory(convention_id=row.id, kind=territory_kind_of(code), code=code)
        )
    for service in Service if services is None else services:
        session.add(ConventionService(convention_id=row.id, service=str(service)))
    session.flush()
    return row


def market(
    session: Session,
    *,
    buyer: Buyer,
    in_commune: str = CHERBOURG,
    state: str = "identification",
    ref: str | None = None,
    lots: int = 2,
    hours: int | None = 700,
    clause_text: str
    | None = "Le titulaire réserve 700 heures à des personnes éloignées de l'emploi.",
    consultation_on: date | None = date(2027, 2, 15),
    execution_starts_on: date | None = date(2027, 6, 1),
    execution_ends_on: date | None = date(2028, 5, 31),
    awarded_to: Contractor | None = None,
) -> Market:
    """A market as an import leaves it: assignment checked and the tasks of its state opened,
    on the clock's today."""
    now = clock.now()
    row = Market(
        ref=ref or f"MKT-2027-{next(_numbers):03d}",
        buyer_id=buyer.id,
        title="Réhabilitation du collège",
        commune_code=in_commune,
        cpv="45454000",
        amount=Decimal(1_000_000 * lots),
        consultation_on=consultation_on,
        award_on=consultation_on,
        execution_starts_on=execution_starts_on,
        execution_ends_on=execution_ends_on,
        state=state,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    for number in range(1, lots + 1):
        session.add(
            Lot(
                market_id=row.id,
                number=number,
                title=f"Lot {number}",
                amount=Decimal(1_000_000),
                hours=hours,
                clause_text=clause_text,
                contractor_id=awarded_to.id if awarded_to else None,
            )
        )
    session.add(
        TransitionLog(
            market_id=row.id, from_state=None, to_state=state, trigger="load", actor="test", at=now
        )
    )
    session.flush()
    assignment.refresh(session, row, today=clock.today())
    open_initial_tasks(session, row, settings=get_settings(), today=clock.today())
    session.flush()
    return row


def beneficiary(
    session: Session,
    structure: Structure,
    *,
    public: str | tuple[str, ...] = "deld",
    sex: str = "F",
    age_band: str = "26_to_49",
    name: str | None = None,
    checked_on: date | None = None,
    pass_iae: bool = False,
):
    """A person registered by a facilitator of ``structure`` (``public``: one criterion or a
    tuple of them), eligibility checked on ``checked_on``; by default six months before today,
    so that the months a test declares around today fall within the check's validity
    (``config.eligibility``: 12 months for ``deld``)."""
    from clausier.beneficiaries import service

    checker = session.exec(
        select(Facilitator).where(Facilitator.structure_id == structure.id)
    ).first()
    return service.register(
        session,
        structure,
        service.Registration(
            publics=(public,) if isinstance(public, str) else tuple(public), sex=sex,
            age_band=age_band, checked_by=checker.email, name=name, pass_iae=pass_iae,
            checked_on=checked_on or clock.today() - relativedelta(months=6),
        ),
        today=clock.today(),
        now=clock.now(),
    )  # fmt: skip


def every_month_declared(
    session: Session, market: Market, *, but: tuple[str, ...] = (), lots: tuple[int, ...] = ()
) -> None:
    """Every month of the execution period declared (with no line) on each lot carrying a
    clause (of the numbers ``lots``, if given), as ``close`` waits for, except the months
    ``but`` (YYYY-MM) and those already there."""
    from clausier.declarations.models import Statement
    from notifications.schedule import months

    for lot in session.exec(select(Lot).where(Lot.market_id == market.id)).all():
        if not lot.carries_clause or (lots and lot.number not in lots):
            continue
        declared = set(
            session.exec(select(Statement.period).where(Statement.lot_id == lot.id)).all()
        )
        for month in months(market.execution_starts_on, market.execution_ends_on):
            period = f"{month:%Y-%m}"
            if period not in declared and period not in but:
                session.add(
                    Statement(
                        lot_id=lot.id, period=period, declared_by="contractor:test",
                        declared_at=clock.now(),
                    )
                )  # fmt: skip
    session.flush()
