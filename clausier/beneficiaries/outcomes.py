"""The evaluation of a market: where each beneficiary stands six months after, and the summary.

``close`` waits for both: every beneficiary whose hours were validated on the market has an
outcome (``unknown`` is an answer: the facilitator tried and could not learn it). An outcome
is due six months after the end of execution; one recorded before says why (``early_reason``),
and one recorded early without a reason (before that rule) is not an answer ``close`` takes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, bindparam, or_
from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary, Outcome
from clausier.beneficiaries.vocabulary import OUTCOMES, choices
from clausier.clock import PARIS
from clausier.db.locks import locked
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.errors import InvalidInput, Refused
from clausier.formatting import fr_date
from clausier.markets import history
from clausier.markets.models import Lot, Market
from clausier.validation.texts import REASON_MIN


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


def outcomes_due_on(market: Market) -> date | None:
    """The day the outcomes « six months after » are known: the end of execution + 6 months."""
    return due_after(market.execution_ends_on)


def due_after(ends: date | None) -> date | None:
    """``outcomes_due_on`` from an end of execution read elsewhere (a load file, the demo's rows)."""
    return ends + relativedelta(months=6) if ends else None


def recorded_early(market: Market, recorded_at: datetime, early_reason: str | None) -> bool:
    """Recorded before its date without saying why: not yet an answer."""
    due = outcomes_due_on(market)
    recorded_on = recorded_at.astimezone(PARIS).date()
    return due is not None and recorded_on < due and not (early_reason or "").strip()


def outcomes_of(session: Session, market: Market) -> dict[int, Outcome]:
    rows = session.exec(select(Outcome).where(Outcome.market_id == market.id)).all()
    return {row.beneficiary_id: row for row in rows}


@dataclass(frozen=True)
class Standing:
    """Where the market's evaluation stands: each person whose validated hours count on it, in
    code order, with the outcome recorded for them (``None``: not yet), and every outcome
    recorded on the market by outcome."""

    people: list[tuple[str, str | None]]
    by_outcome: Counter
    # the people whose outcome was recorded before its date without a reason, in code order
    early: list[str] = ()

    @property
    def missing(self) -> list[str]:
        return [code for code, outcome in self.people if outcome is None]

    @property
    def recorded(self) -> int:
        return sum(1 for _code, outcome in self.people if outcome is not None)


# One round trip, built once: the status lookup of a market in evaluation reads it on every
# request, and ``close`` weighs it (the people, their outcomes, and outcomes kept for a person
# whose hours no longer count, which the summary still tells).
_VALIDATED = (
    select(DeclarationLine.beneficiary_id)
    .join(Lot, Lot.id == DeclarationLine.lot_id)
    .where(Lot.market_id == bindparam("market_id"), DeclarationLine.status == LineStatus.validated)
    .where(DeclarationLine.beneficiary_id.is_not(None))  # an invoice line names no person
)
_STANDING = (
    select(
        Beneficiary.code,
        Outcome.outcome,
        Beneficiary.id.in_(_VALIDATED).label("counts"),
        Outcome.recorded_at,
        Outcome.early_reason,
    )
    .select_from(Beneficiary)
    .outerjoin(
        Outcome,
        and_(Outcome.beneficiary_id == Beneficiary.id, Outcome.market_id == bindparam("market_id")),
    )
    .where(or_(Beneficiary.id.in_(_VALIDATED), Outcome.id.is_not(None)))
    .order_by(Beneficiary.code)
)


def standing(session: Session, market: Market) -> Standing:
    rows = session.connection().execute(_STANDING, {"market_id": market.id}).all()
    return Standing(
        people=[(row.code, row.outcome) for row in rows if row.counts],
        by_outcome=Counter(row.outcome for row in rows if row.outcome is not None),
        early=[
            row.code
            for row in rows
            if row.counts
            and row.outcome is not None
            and recorded_early(market, row.recorded_at, row.early_reason)
        ],
    )


def missing_outcomes(session: Session, market: Market) -> list[str]:
    return standing(session, market).missing


def record(
    session: Session,
    market: Market,
    *,
    summary: str | None,
    outcomes: dict[str, str],
    actor: str,
    now: datetime,
    early_reason: str | None = None,
) -> list[str]:
    """Record outcomes (by beneficiary code) and the summary; returns the codes still missing.
    An outcome recorded (or changed) before its date needs ``early_reason``, kept with it.
    Two facilitators recording at once take turns on the market's lock: the second updates the
    outcomes the first wrote (one per person) instead of writing them again. The market's log
    keeps the summary's change and how many outcomes changed, never whose."""
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
    recorded = outcomes_of(session, market)

    def changes_answer(code: str, outcome: str) -> bool:
        """A new or changed outcome, or one recorded early without a reason given again."""
        row = recorded.get(people[code.strip().upper()].id)
        return (
            row is None
            or row.outcome != outcome
            or recorded_early(market, row.recorded_at, row.early_reason)
        )

    changing = {
        code
        for code, outcome in outcomes.items()
        if code.strip().upper() in people and changes_answer(code, outcome)
    }
    due = outcomes_due_on(market)
    reason = (early_reason or "").strip() or None
    early = due is not None and now.astimezone(PARIS).date() < due
    if changing and early and (reason is None or len(reason) < REASON_MIN):
        problems.append(
            f"la sortie à six mois se constate à partir du {fr_date(due)} (six mois après la fin "
            "d'exécution) : avant cette date, indiquez pourquoi vous l'enregistrez déjà (motif)"
        )
    if problems:
        raise InvalidInput("Évaluation non enregistrée : " + " ; ".join(problems) + ".")
    written = set()
    for code, outcome in outcomes.items():
        person = people[code.strip().upper()]
        if person.id not in recorded or recorded[person.id].outcome != outcome:
            written.add(person.id)
        row = recorded.get(person.id) or Outcome(market_id=market.id, beneficiary_id=person.id)
        row.outcome, row.recorded_by, row.recorded_at = outcome, actor, now
        if code in changing:  # an unchanged answer keeps the reason it was given with
            row.early_reason = reason if early else None
        session.add(row)
    changes: dict[str, list] = {}
    if summary is not None:
        history.note(changes, "evaluation", market.evaluation, summary.strip())
        market.evaluation, market.evaluated_at = summary.strip(), now
        session.add(market)
    if written:
        changes["outcomes"] = [None, len(written)]
    history.record_edit(session, market, changes, actor=actor, at=now)
    session.flush()
    return missing_outcomes(session, market)
