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
from clausier.formatting import fr_month
from clausier.markets import history as log
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Buyer, Contractor, Structure
from clausier.partnerships import periods
from clausier.partnerships.assignment import market_coverage
from clausier.partnerships.coverage import COVERAGE_LABELS
from clausier.partnerships.models import Convention
from clausier.referential.service import place_of
from clausier.tasks.models import Task
from notifications import upcoming
from notifications.models import Reminder, ReminderStatus
from workflow.lifecycle import STATE_LABELS, TRIGGERS
from workflow.possible import triggers_now


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
# The next reminders with what each is about: its task (kind, whoever took it) and its lot, the
# reminder's own or its task's (a statement to check is a task of one lot).
_UPCOMING = (
    select(Reminder, Task.kind, Task.assignee_id, Lot)
    .select_from(Reminder)
    .outerjoin(Task, Task.id == Reminder.task_id)
    .outerjoin(Lot, Lot.id == func.coalesce(Reminder.lot_id, Task.lot_id))
    .where(Reminder.market_id == bindparam("market_id"), Reminder.status == ReminderStatus.pending)
    .order_by(Reminder.due_at, Reminder.id)
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
    # the engine's own answer, so the status never offers a trigger its guard would refuse
    possible = triggers_now(session, market, lots, today=today, coverage=coverage)
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
            {"trigger": t, "label": TRIGGERS[t].label, "needs": possible.needs.get(t, [])}
            for t in possible.allowed
        ],
        "blocked_triggers": [
            {"trigger": t, "label": TRIGGERS[t].label, "reasons": reasons}
            for t, reasons in possible.blocked.items()
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
                "label": log.label(entry),
                "changes": log.changes(entry),
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
    reminder_scope=None,
) -> dict[str, Any]:
    """The status with what comes next: the open tasks (within ``task_scope``) and the next
    reminders (within ``reminder_scope``). One document for the CLI, the API and the market
    page."""
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
    query = _UPCOMING if reminder_scope is None else _UPCOMING.where(reminder_scope)
    rows = session.exec(query, params={"market_id": market.id}).all()
    document["next_reminders"] = [
        _next_reminder(reminder, kind, lot, taken=assignee is not None, now=now, settings=settings)
        for reminder, kind, assignee, lot in rows
    ]
    return document


def _next_reminder(
    reminder: Reminder,
    kind: str | None,
    lot: Lot | None,
    *,
    taken: bool,
    now: datetime,
    settings: Settings,
) -> dict[str, Any]:
    """A reminder as a list shows it: what it is about (its task, its lot, its month), whom it
    goes to, and where it stands (still to come, waiting for the sweep, being sent)."""
    rule = settings.reminders.get(reminder.rule)
    task_kind = settings.tasks.kinds.get(kind) if kind else None
    task_label = (task_kind.label if task_kind else kind) if kind else None
    about = []
    if task_label:
        about.append(f"tâche « {task_label} »" + (f" du {lot.designation}" if lot else ""))
    elif lot:
        about.append(lot.designation)
    if reminder.period and not kind:
        year, month = map(int, reminder.period.split("-"))
        about.append(f"relevé de {fr_month(date(year, month, 1))}")
    delivery = upcoming.delivery_of(reminder, now=now, settings=settings.notifications)
    return {
        "rule": reminder.rule,
        "label": rule.label if rule else reminder.rule,
        "due_at": reminder.due_at.isoformat(),
        "recipient_role": reminder.recipient_role,
        "recipient_label": upcoming.recipient_label(reminder.recipient_role, taken=taken),
        "task": {"id": reminder.task_id, "kind": kind, "label": task_label} if kind else None,
        "lot": {"number": lot.number, "title": lot.title} if lot else None,
        "period": reminder.period,
        "about": ", ".join(about) or None,
        "status": delivery.status.value,
        "status_label": delivery.label,
    }
