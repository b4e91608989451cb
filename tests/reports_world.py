"""A small world whose 2027 report is counted by hand (tests/integration/test_reports.py).

The Région has two markets in the report and two that are not; the Département one market in
the same town; one Maison de l'emploi follows them all. Built with the real services: people
registered, months declared, lines validated or rejected, one market evaluated.

    MKT-R-1  Région, Cherbourg, 2027-01-01 → 2027-12-31, lot 1 = 600 h (+ a lot without clause)
             its title is a formula, as someone could type it
    MKT-R-2  Région, Valognes, 2026-07-01 → 2027-06-30, lot 1 = 500 h; evaluated in July 2027
    MKT-D-3  Département, Cherbourg, 2027-01-01 → 2027-12-31, lot 1 = 365 h
    MKT-R-4  Région, identification (not in any report)
    MKT-R-5  Région, executed in 2026 only (not in the 2027 report)

    people   P1 deld F under 26 · P2 rqth M 26 to 49 · P3 jeune M under 26 · P4 senior F 50 plus
             P5 qpv F 26 to 49 (Département's market only)

    line                                       review
    R-1 2027-01  P1 direct_hire cdd       70   validated
    R-1 2027-01  P2 placement temporary   35.5 validated
    R-1 2027-02  P1 direct_hire cdd       80   validated
    R-1 2027-02  P4 direct_hire cdi       40   rejected
    R-1 2027-03  P1 direct_hire cdd       60   not reviewed (submitted)
    R-1 2027-03  P3 training —            20.25 validated
    R-2 2026-12  P2 placement temporary   50   validated (another year)
    R-2 2027-01  P2 placement temporary   30   validated
    R-2 2027-01  P3 direct_hire apprent.  45   validated
    R-2 2027-02  P2 subcontracting cddi   12.5 validated
    D-3 2027-01  P5 direct_hire cdi      100   validated

    outcomes of R-2: P2 durable_employment, P3 other
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import select

from clausier import clock
from clausier.beneficiaries import outcomes
from clausier.beneficiaries.vocabulary import AGE_BANDS
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.markets.models import Lot, Market
from tests import factories as make
from workflow.engine import fire

MIDDLE_AGE = list(AGE_BANDS)[1]  # 26 to 49
# the body each modality goes through: P2's placements an ETTI, its subcontract an ACI
BODIES = {
    "placement": {"body_siret": make.siret(9_101), "body_kind": "etti"},
    "subcontracting": {"body_siret": make.siret(9_102), "body_kind": "aci"},
}
EVIL_TITLE = '=HYPERLINK("http://evil")'
REPORT_DAY = date(2027, 7, 5)

# (market, period, person, modality, contract, hours, review: True validated / False / None)
LINES = [
    ("R-1", "2027-01", "P1", "direct_hire", "cdd", "70", True),
    ("R-1", "2027-01", "P2", "placement", "temporary", "35.5", True),
    ("R-1", "2027-02", "P1", "direct_hire", "cdd", "80", True),
    ("R-1", "2027-02", "P4", "direct_hire", "cdi", "40", False),
    ("R-1", "2027-03", "P1", "direct_hire", "cdd", "60", None),
    ("R-1", "2027-03", "P3", "training", None, "20.25", True),
    ("R-2", "2026-12", "P2", "placement", "temporary", "50", True),
    ("R-2", "2027-01", "P2", "placement", "temporary", "30", True),
    ("R-2", "2027-01", "P3", "direct_hire", "apprenticeship", "45", True),
    ("R-2", "2027-02", "P2", "subcontracting", "cddi", "12.5", True),
    ("D-3", "2027-01", "P5", "direct_hire", "cdi", "100", True),
]
PEOPLE = {
    "P1": ("deld", "F", "under_26"),
    "P2": ("rqth", "M", MIDDLE_AGE),
    "P3": ("jeune", "M", "under_26"),
    "P4": ("senior", "F", "50_plus"),
    "P5": ("qpv", "F", MIDDLE_AGE),
}


def paris(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def build(store, traveller) -> dict:
    """The world above, the clock left on ``REPORT_DAY``; ids and codes by short name."""
    traveller.move_to(paris(date(2027, 1, 4)))
    settings = get_settings()
    with store.session() as session:
        region = make.buyer(session, "Région Normandie")
        departement = make.buyer(session, "Conseil départemental de la Manche")
        mde = make.structure(session, "mde-cotentin")
        for buyer in (region, departement):
            make.convention(
                session, buyer=buyer, structure=mde, covering=(make.MANCHE,),
                starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31),
            )  # fmt: skip
        winner = make.contractor(session)

        def market(ref, buyer, commune, hours, starts, ends, state="execution"):
            return make.market(
                session, buyer=buyer, ref=f"MKT-{ref}", in_commune=commune, state=state, lots=1,
                hours=hours, awarded_to=winner, execution_starts_on=starts, execution_ends_on=ends,
            )  # fmt: skip

        markets = {
            "R-1": market("R-1", region, make.CHERBOURG, 600, date(2027, 1, 1), date(2027, 12, 31)),
            "R-2": market("R-2", region, make.VALOGNES, 500, date(2026, 7, 1), date(2027, 6, 30)),
            "D-3": market("D-3", departement, make.CHERBOURG, 365, date(2027, 1, 1), date(2027, 12, 31)),
            "R-4": market("R-4", region, make.CHERBOURG, 300, date(2027, 1, 1), date(2027, 12, 31), "identification"),
            "R-5": market("R-5", region, make.CHERBOURG, 300, date(2026, 1, 1), date(2026, 12, 31)),
        }  # fmt: skip
        markets["R-1"].title = EVIL_TITLE
        session.add(
            Lot(market_id=markets["R-1"].id, number=2, title="Maîtrise d'œuvre", amount=1, hours=0)
        )
        # checked before their first month (R-2's December 2026): their hours count from then
        people = {
            short: make.beneficiary(session, mde, public=public, sex=sex, age_band=band,
                                    name=f"Nom secret {short}", checked_on=date(2026, 12, 1))
            for short, (public, sex, band) in PEOPLE.items()
        }  # fmt: skip
        session.commit()
        ids = {short: row.id for short, row in markets.items()}
        codes = {short: row.code for short, row in people.items()}

    traveller.move_to(paris(date(2027, 4, 12)))
    with store.session() as session:
        grouped: dict[tuple[str, str], list[LineInput]] = {}
        for ref, period, person, modality, contract, hours, _review in LINES:
            grouped.setdefault((ref, period), []).append(
                LineInput(codes[person], modality, Decimal(hours), contract,
                          **BODIES.get(modality, {}))
            )  # fmt: skip
        for (ref, period), lines in grouped.items():
            lot = session.exec(select(Lot).where(Lot.market_id == ids[ref], Lot.number == 1)).one()
            declare(
                session, lot=lot, period=period, lines=lines, actor="contractor:test",
                settings=settings, today=clock.today(), now=clock.now(),
            )  # fmt: skip
        session.flush()
        by_key = {
            (row.lot_id, row.period, row.beneficiary_id, row.modality): row
            for row in session.exec(select(DeclarationLine)).all()
        }
        lot_of = {
            market_id: lot_id
            for lot_id, market_id in session.exec(
                select(Lot.id, Lot.market_id).where(Lot.number == 1)
            ).all()
        }
        person_id = {short: row.id for short, row in people.items()}
        decisions = [
            Decision(
                by_key[(lot_of[ids[ref]], period, person_id[person], modality)].id,
                validate=verdict,
                reason=None if verdict else "heures en double avec un autre relevé",
            )
            for ref, period, person, modality, _contract, _hours, verdict in LINES
            if verdict is not None
        ]
        review(
            session, decisions, actor="f0@mde-cotentin.example", settings=settings,
            today=clock.today(), now=clock.now(),
        )  # fmt: skip
        session.commit()

    traveller.move_to(paris(REPORT_DAY))
    with store.session() as session:
        fire(session, ref="MKT-R-2", trigger="complete", actor="buyer:test")
        evaluated = session.get(Market, ids["R-2"])
        outcomes.record(
            session, evaluated, summary="Bilan : objectif presque atteint.",
            outcomes={codes["P2"]: "durable_employment", codes["P3"]: "other"},
            actor="f0@mde-cotentin.example", now=clock.now(),
            early_reason="situations connues à la fin du chantier",
        )  # fmt: skip
        session.commit()
    return {
        "markets": ids,
        "codes": codes,
        "region": region,
        "departement": departement,
        "mde": mde,
        "winner": winner,
    }
