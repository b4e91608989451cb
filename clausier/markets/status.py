"""The status of a market as a buyer looks it up: one document, used by the CLI (and the API)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from clausier.config import Settings
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Buyer, Contractor, Structure
from clausier.partnerships import periods
from clausier.partnerships.assignment import market_coverage
from clausier.partnerships.coverage import COVERAGE_LABELS
from clausier.partnerships.models import Convention
from clausier.referential.service import place_of
from notifications.models import Reminder, ReminderStatus
from workflow.lifecycle import STATE_LABELS, TRIGGERS, allowed_triggers


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# Built once: the statements of a status lookup, run with each market's values. The first
# reads the parties and the lots, with the hours submitted on each, in one round trip (the
# parties repeat on each lot's row; a market without lots still has its one row).
_SUBMITTED = (
    select(func.sum(DeclarationLine.hours))
    .where(DeclarationLine.lot_id == Lot.id, DeclarationLine.status == LineStatus.submitted)
    .correlate(Lot)
    .scalar_subquery()
    .label("submitted")
)
_PARTIES_AND_LOTS = (
    select(Buyer, Structure, Convention, Lot, Contractor, _SUBMITTED)
    .select_from(Buyer)
    .outerjoin(Structure, Structure.id == bindparam("structure_id"))
    .outerjoin(Convention, Convention.id == bindparam("convention_id"))
    .outerjoin(Lot, Lot.market_id == bindparam("market_id"))
    .outerjoin(Contractor, Contractor.id == Lot.contractor_id)
    .where(Buyer.id == bindparam("buyer_id"))
    .order_by(Lot.number)
)
_HISTORY = (
    select(TransitionLog)
    .where(TransitionLog.market_id == bindparam("market_id"))
    .order_by(TransitionLog.id)
)
_UPCOMING = (
    select(Reminder)
    .where(Reminder.market_id == bindparam("market_id"), Reminder.status == ReminderStatus.pending)
    .order_by(Reminder.due_at)
    .limit(10)
)


def market_status(session: Session, market: Market, *, today: date) -> dict[str, Any]:
    return _status(session, market, today=today)[0]


def _status(
    session: Session, market: Market, *, today: date
) -> tuple[dict[str, Any], list[Lot], dict[int, Decimal]]:
    """The status document, the market's lots and the hours submitted on each (read once, for
    their progress too)."""
    rows = session.exec(
        _PARTIES_AND_LOTS,
        params={
            "buyer_id": market.buyer_id,
            "structure_id": market.structure_id,
            "convention_id": market.convention_id,
            "market_id": market.id,
        },
    ).all()
    buyer, structure, convention = rows[0].Buyer, rows[0].Structure, rows[0].Convention
    lots = [row.Lot for row in rows if row.Lot is not None]
    contractors = {
        row.Lot.contractor_id: row.Contractor for row in rows if row.Contractor is not None
    }
    submitted = {row.Lot.id: row.submitted for row in rows if row.submitted is not None}
    place = place_of(session, market.commune_code)
    coverage = market_coverage(session, market, today=today)
    # the candidates are most often the market's own structure, already read
    known = {structure.id: structure} if structure else {}
    if missing := coverage.candidate_structures - known.keys():
        known |= {
            s.id: s for s in session.exec(select(Structure).where(Structure.id.in_(missing))).all()
        }
    candidates = [known[i].ref for i in coverage.candidate_structures if i in known]
    history = session.exec(_HISTORY, params={"market_id": market.id}).all()
    document = {
        "ref": market.ref,
        "title": market.title,
        "buyer": {"siret": buyer.siret, "name": buyer.name},
        "place": {
            "commune": place.code,
            "name": place.name,
            "epci": place.epci_code,
            "epci_name": place.epci_name,
            "departement": place.departement_code,
            "departement_name": place.departement_name,
        },
        "cpv": market.cpv,
        "amount": str(market.amount),
        "dates": {
            "consultation_on": _day(market.consultation_on),
            "award_on": _day(market.award_on),
            "execution_starts_on": _day(market.execution_starts_on),
            "execution_ends_on": _day(market.execution_ends_on),
        },
        "state": market.state,
        "state_label": STATE_LABELS[market.state],
        "version": market.version,
        "allowed_triggers": [
            {"trigger": t, "label": TRIGGERS[t].label} for t in allowed_triggers(market.state)
        ],
        "structure": (
            {
                "ref": structure.ref,
                "name": structure.name,
                "email": structure.email,
                "assignment": market.assignment,
                "convention": convention.ref if convention else None,
                "convention_renewal": convention.renewal if convention else None,
                "convention_in_force_until": (
                    _day(periods.last_day_in_force(convention, coverage.on)) if convention else None
                ),
            }
            if structure
            else None
        ),
        "coverage": {
            "on": _day(coverage.on),
            "status": coverage.status.value,
            "label": COVERAGE_LABELS[coverage.status],
            "flag": market.coverage_flag,
            "candidates": sorted(candidates),
            "conventions": sorted({cover.convention.ref for cover in coverage.covers}),
        },
        "lots": [
            {
                "id": lot.id,
                "number": lot.number,
                "title": lot.title,
                "amount": str(lot.amount),
                "hours": lot.hours,
                "hours_validated": str(lot.hours_validated),
                "clause_text": lot.clause_text,
                "clause_edited": lot.clause_edited,
                "hours_computed": lot.hours_computed,
                "hours_override_reason": lot.hours_override_reason,
                "offer": lot.offer,
                "modalities": lot.modalities,
                "contractor": (
                    {
                        "siret": contractors[lot.contractor_id].siret,
                        "name": contractors[lot.contractor_id].name,
                    }
                    if lot.contractor_id
                    else None
                ),
            }
            for lot in lots
        ],
        "exit_reason": market.exit_reason,
        "evaluation": market.evaluation,
        "history": [
            {
                "at": entry.at.isoformat(),
                "from": entry.from_state,
                "to": entry.to_state,
                "trigger": entry.trigger,
                "actor": entry.actor,
                "payload": entry.payload,
            }
            for entry in history
        ],
    }
    return document, lots, submitted


def market_overview(
    session: Session,
    market: Market,
    *,
    today: date,
    now: datetime,
    settings: Settings,
    task_scope=None,
) -> dict[str, Any]:
    """The status with what comes next: the open tasks (within ``task_scope``) and the next
    reminders. One document for the CLI, the API and the market page."""
    # tasks, declarations and outcomes build on markets, not the other way round
    from clausier.beneficiaries import outcomes
    from clausier.declarations import pace
    from clausier.tasks.service import queue

    document, lots, submitted = _status(session, market, today=today)
    document["open_tasks"] = [
        row.as_dict(settings.tasks.kinds)
        for row in queue(session, now=now, market=market, scope=task_scope)
    ]
    progress = pace.lot_progress(
        session, market, lots, today=today, settings=settings,
        departement=document["place"]["departement"], submitted=submitted,
    )  # fmt: skip
    for lot_doc in document["lots"]:
        lot_pace = progress.get(lot_doc["id"])
        lot_doc["progress"] = lot_pace.as_dict() if lot_pace else None
    if market.state in ("evaluation", "closed"):
        people = outcomes.beneficiaries_of(session, market)
        recorded = outcomes.outcomes_of(session, market)
        document["outcomes"] = {
            "beneficiaries": len(people),
            "recorded": sum(1 for b in people if b.id in recorded),
            "by_outcome": dict(Counter(row.outcome for row in recorded.values())),
        }
    upcoming = session.exec(_UPCOMING, params={"market_id": market.id}).all()
    rules = settings.reminders
    document["next_reminders"] = [
        {
            "rule": r.rule,
            "label": rules[r.rule].label if r.rule in rules else r.rule,
            "due_at": r.due_at.isoformat(),
            "recipient_role": r.recipient_role,
        }
        for r in upcoming
    ]
    return document
