"""The status of a market as a buyer looks it up: one document, used by the CLI (and the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func
from sqlmodel import Session, select

from clausier.beneficiaries import outcomes
from clausier.config import Settings
from clausier.db.statements import narrowed
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.formatting import fr_month
from clausier.markets import history as log
from clausier.markets.models import Lot, Market, TransitionLog, designation, lot_cpv
from clausier.offers.instruments import named
from clausier.partners.models import Buyer, Contractor, Structure
from clausier.partnerships import periods
from clausier.partnerships.assignment import market_coverage
from clausier.partnerships.coverage import COVERAGE_LABELS
from clausier.partnerships.models import Convention
from clausier.partnerships.penalty import Penalty, chosen
from clausier.referential.service import place_of
from clausier.tasks.models import Task
from notifications import upcoming
from notifications.models import Reminder, ReminderStatus
from workflow.guards import in_words
from workflow.lifecycle import STATE_LABELS, TRIGGERS
from workflow.possible import CloseFacts, triggers_now


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
    select(
        Buyer.siret.label("buyer_siret"),
        Buyer.name.label("buyer_name"),
        Buyer.penalty_per_hour.label("buyer_penalty"),
        Structure.id.label("structure_id"),
        Structure.ref.label("structure_ref"),
        Structure.name.label("structure_name"),
        Structure.email.label("structure_email"),
        Convention,
        Lot,  # objects: the periods and the guards read them
        Contractor.siret.label("contractor_siret"),
        Contractor.name.label("contractor_name"),
        _SUBMITTED,
    )
    .select_from(Buyer)
    .outerjoin(Structure, Structure.id == bindparam("structure_id"))
    .outerjoin(Convention, Convention.id == bindparam("convention_id"))
    .outerjoin(Lot, Lot.market_id == bindparam("market_id"))
    .outerjoin(Contractor, Contractor.id == Lot.contractor_id)
    .where(Buyer.id == bindparam("buyer_id"))
    .order_by(Lot.number)
)
_HISTORY = (
    select(*TransitionLog.__table__.columns)  # rows, not objects: the log is only shown
    .where(TransitionLog.market_id == bindparam("market_id"))
    .order_by(TransitionLog.id)
)
# The next reminders with what each is about: its task (kind, whoever took it) and its lot, the
# reminder's own or its task's (a statement to check is a task of one lot). Plain columns: they
# are only shown.
_UPCOMING = (
    select(
        Reminder.rule,
        Reminder.due_at,
        Reminder.recipient_role,
        Reminder.task_id,
        Reminder.period,
        Reminder.message_id,
        Reminder.claimed_until,
        Task.kind,
        Task.assignee_id,
        Task.structure_id.label("task_structure_id"),
        Lot.number.label("lot_number"),
        Lot.title.label("lot_title"),
    )
    .select_from(Reminder)
    .outerjoin(Task, Task.id == Reminder.task_id)
    .outerjoin(Lot, Lot.id == func.coalesce(Reminder.lot_id, Task.lot_id))
    .where(Reminder.market_id == bindparam("market_id"), Reminder.status == ReminderStatus.pending)
    .order_by(Reminder.due_at, Reminder.id)
    .limit(10)
)


def market_status(session: Session, market: Market, *, today: date) -> dict[str, Any]:
    return _status(session, market, today=today)[0]


@dataclass(frozen=True)
class _Read:
    """What the status read besides its document, for the overview to reuse: what ``close``
    weighed (None: not weighed) and the contract's penalty per missing hour."""

    close: CloseFacts | None
    penalty: Penalty | None


def _status(
    session: Session, market: Market, *, today: date
) -> tuple[dict[str, Any], list[Lot], dict[int, Decimal], outcomes.Standing | None, _Read]:
    """The status document, the market's lots, the hours submitted on each, where its
    evaluation stands and what else it read (read once, for their progress, the outcomes,
    ``close`` and the shortfall alike)."""
    rows = session.exec(
        _PARTIES_AND_LOTS,
        params={
            "buyer_id": market.buyer_id,
            "structure_id": market.structure_id,
            "convention_id": market.convention_id,
            "market_id": market.id,
        },
    ).all()
    first, convention = rows[0], rows[0].Convention
    lots = [row.Lot for row in rows if row.Lot is not None]
    contractors = {
        row.Lot.id: {"siret": row.contractor_siret, "name": row.contractor_name}
        for row in rows
        if row.contractor_siret is not None
    }
    submitted = {row.Lot.id: row.submitted for row in rows if row.submitted is not None}
    place = place_of(session, market.commune_code)
    coverage = market_coverage(session, market, today=today)
    # the candidates are most often the market's own structure, already read
    known = {first.structure_id: first.structure_ref} if first.structure_id else {}
    if missing := coverage.candidate_structures - known.keys():
        found = session.execute(
            select(Structure.id, Structure.ref).where(Structure.id.in_(missing))
        )
        known |= {structure_id: ref for structure_id, ref in found}
    candidates = [known[i] for i in coverage.candidate_structures if i in known]
    history = session.connection().execute(_HISTORY, {"market_id": market.id}).all()
    # the engine's own answer, so the status never offers a trigger its guard would refuse
    evaluated = market.state in ("evaluation", "closed")
    standing = outcomes.standing(session, market) if evaluated else None
    possible = triggers_now(
        session, market, lots, today=today, coverage=coverage,
        standing=standing,
    )  # fmt: skip
    document = {
        "ref": market.ref,
        "title": market.title,
        "buyer": {"siret": first.buyer_siret, "name": first.buyer_name},
        "place": {
            "commune": place.code,
            "name": place.name,
            "epci": place.epci_code,
            "epci_name": place.epci_name,
            "departement": place.departement_code,
            "departement_name": place.departement_name,
        },
        "cpv": market.cpv,
        "qpv_target": str(market.qpv_target) if market.qpv_target is not None else None,
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
            {
                "trigger": t,
                "label": TRIGGERS[t].label,
                "reasons": reasons,
                "missing": [in_words(reason) for reason in reasons],
            }
            for t, reasons in possible.blocked.items()
        ],
        "structure": (
            {
                "ref": first.structure_ref,
                "name": first.structure_name,
                "email": first.structure_email,
                "assignment": market.assignment,
                "convention": convention.ref if convention else None,
                "convention_renewal": convention.renewal if convention else None,
                "convention_in_force_until": (
                    _day(periods.last_day_in_force(convention, coverage.on)) if convention else None
                ),
            }
            if first.structure_id
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
                "cpv": lot_cpv(lot, market)[0],
                "cpv_source": lot_cpv(lot, market)[1],
                "amount": str(lot.amount),
                "hours": lot.hours,
                "hours_validated": str(lot.hours_validated),
                "clause_text": lot.clause_text,
                "clause_edited": lot.clause_edited,
                "instrument": lot.instrument,
                "instrument_label": named(lot.instrument),
                "hours_computed": lot.hours_computed,
                "hours_override_reason": lot.hours_override_reason,
                "offer": lot.offer,
                "modalities": lot.modalities,
                "contractor": contractors.get(lot.id),
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
    read = _Read(possible.close, chosen(convention, first.buyer_penalty, first.buyer_name))
    return document, lots, submitted, standing, read


def market_overview(session: Session, market: Market, **options) -> dict[str, Any]:
    """The status with what comes next: the open tasks (within ``task_scope``) and the next
    reminders (within ``reminder_scope``). One document for the CLI, the API and the market
    page (``market_overview_until`` says which options)."""
    return market_overview_until(session, market, **options)[0]


def market_overview_until(
    session: Session,
    market: Market,
    *,
    today: date,
    now: datetime,
    settings: Settings,
    task_scope=None,
    reminder_scope=None,
) -> tuple[dict[str, Any], datetime | None]:
    """The overview, and the first instant after ``now`` at which time alone would change it
    (within ``today``; None: none that day): a task falls overdue, a reminder falls due or its
    lease ends, office hours open or close on a reminder waiting for them. Until then, and as
    long as the market's data stay the same (``db.changes``), the document may be kept."""
    # tasks and declarations build on markets, not the other way round
    from clausier.declarations import pace, shortfall
    from clausier.declarations.service import Settlement
    from clausier.tasks.service import market_queue

    document, lots, submitted, standing, read = _status(session, market, today=today)
    document["open_tasks"] = market_queue(
        session, market, now=now, kinds=settings.tasks.kinds, scope=task_scope
    )
    progress = pace.lot_progress(
        session, market, lots, today=today, settings=settings,
        departement=document["place"]["departement"], submitted=submitted,
    )  # fmt: skip
    for lot_doc in document["lots"]:
        lot_pace = progress.get(lot_doc["id"])
        lot_doc["progress"] = lot_pace.as_dict() if lot_pace else None
    if standing is not None:
        document["outcomes"] = {
            "beneficiaries": len(standing.people),
            "recorded": standing.recorded,
            "by_outcome": dict(standing.by_outcome),
        }
    close = read.close
    ended = shortfall.at_end(
        session, market, lots, today=today, declaration_day=settings.offer.declaration_day,
        settled=Settlement(close.to_review, close.undeclared) if close else None,
        penalty=read.penalty,
    )  # fmt: skip
    document["shortfall"] = ended.as_dict() if ended else None
    rows = (
        session.connection()
        .execute(narrowed(_UPCOMING, reminder_scope), {"market_id": market.id})
        .all()
    )
    deliveries = [upcoming.delivery_of(row, now=now, settings=settings.notifications)
                  for row in rows]  # fmt: skip
    document["next_reminders"] = [
        _next_reminder(row, delivery, settings=settings, followed=market.structure_id is not None)
        for row, delivery in zip(rows, deliveries, strict=True)
    ]
    moments = [
        datetime.fromisoformat(task["due_at"])
        for task in document["open_tasks"]
        if not task["overdue"]  # ``overdue`` is ``due_at < now``
    ]
    moments += [delivery.changes_at for delivery in deliveries]
    return document, min((moment for moment in moments if moment is not None), default=None)


def _next_reminder(
    reminder: Row, delivery: upcoming.Upcoming, *, settings: Settings, followed: bool = False
) -> dict[str, Any]:
    """A reminder as a list shows it (a row of ``_UPCOMING``): what it is about (its task, its
    lot, its month), whom it goes to, and where it stands (still to come, waiting for the sweep,
    being sent)."""
    kind = reminder.kind
    rule = settings.reminders.get(reminder.rule)
    task_kind = settings.tasks.kinds.get(kind) if kind else None
    task_label = (task_kind.label if task_kind else kind) if kind else None
    has_lot = reminder.lot_number is not None
    lot = designation(reminder.lot_number, reminder.lot_title) if has_lot else None
    about = []
    if task_label:
        about.append(f"tâche « {task_label} »" + (f" du {lot}" if lot else ""))
    elif lot:
        about.append(lot)
    if reminder.period and not kind:
        year, month = map(int, reminder.period.split("-"))
        about.append(f"relevé de {fr_month(date(year, month, 1))}")
    return {
        "rule": reminder.rule,
        "label": rule.label if rule else reminder.rule,
        "due_at": reminder.due_at.isoformat(),
        "recipient_role": reminder.recipient_role,
        "recipient_label": upcoming.recipient_label(
            reminder.recipient_role,
            taken=reminder.assignee_id is not None,
            buyers=bool(kind) and followed and reminder.task_structure_id is None,
        ),
        "task": {"id": reminder.task_id, "kind": kind, "label": task_label} if kind else None,
        "lot": {"number": reminder.lot_number, "title": reminder.lot_title} if has_lot else None,
        "period": reminder.period,
        "about": ", ".join(about) or None,
        "status": delivery.status.value,
        "status_label": delivery.label,
    }
