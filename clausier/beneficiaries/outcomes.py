"""The evaluation of a market: where each beneficiary stands six months after, and the summary.

``close`` waits for both: every beneficiary whose hours were validated on the market has an
outcome (``unknown`` is an answer: the facilitator tried and could not learn it).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary, Outcome
from clausier.beneficiaries.vocabulary import OUTCOMES, choices
from clausier.db.locks import locked
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.errors import InvalidInput, Refused
from clausier.markets.models import Lot, Market


class EvaluationRefused(Refused):
    """Évaluation refusée."""


def beneficiaries_of(session: Session, market: Market) -> list[Beneficiary]:
    """The people whose validated hours count on the market."""
    ids = select(DeclarationLine.beneficiary_id).where(
        DeclarationLine.lot_id.in_(select(Lot.id).where(Lot.market_id == market.id)),
        DeclarationLine.status == LineStatus.validated,
    )
    return list(
        session.exec(select(Beneficiary).where(Beneficiary.id.in_(ids)).order_by(Beneficiary.code))
    )


def outcomes_of(session: Session, market: Market) -> dict[int, Outcome]:
    rows = session.exec(select(Outcome).where(Outcome.market_id == market.id)).all()
    return {row.beneficiary_id: row for row in rows}


def missing_outcomes(session: Session, market: Market) -> list[str]:
    recorded = outcomes_of(session, market)
    return [b.code for b in beneficiaries_of(session, market) if b.id not in recorded]


def record(
    session: Session,
    market: Market,
    *,
    summary: str | None,
    outcomes: dict[str, str],
    actor: str,
    now: datetime,
) -> list[str]:
    """Record outcomes (by beneficiary code) and the summary; returns the codes still missing.
    Two facilitators recording at once take turns on the market's lock: the second updates the
    outcomes the first wrote (one per person) instead of writing them again."""
    locked(session, Market, [market.id])  # ``market`` is read afresh
    if market.state != "evaluation":
        raise EvaluationRefused(
            f"Le marché {market.ref} n'est pas en évaluation : on y enregistre les sorties et "
            "le bilan une fois l'exécution terminée (complete)."
        )
    people = {b.code: b for b in beneficiaries_of(session, market)}
    problems = []
    for code, outcome in outcomes.items():
        if code.strip().upper() not in people:
            problems.append(f"« {code} » n'a pas d'heures validées sur ce marché")
        if outcome not in OUTCOMES:
            problems.append(
                f"{code} : sortie « {outcome} » inconnue (attendu : {choices(OUTCOMES)})"
            )
    if summary is not None and len(summary.strip()) < 3:
        problems.append("le bilan est vide")
    if problems:
        raise InvalidInput("Évaluation non enregistrée : " + " ; ".join(problems) + ".")
    recorded = outcomes_of(session, market)
    for code, outcome in outcomes.items():
        person = people[code.strip().upper()]
        row = recorded.get(person.id) or Outcome(market_id=market.id, beneficiary_id=person.id)
        row.outcome, row.recorded_by, row.recorded_at = outcome, actor, now
        session.add(row)
    if summary is not None:
        market.evaluation, market.evaluated_at = summary.strip(), now
        session.add(market)
    session.flush()
    return missing_outcomes(session, market)
