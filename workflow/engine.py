"""Fire a trigger on a market against the store, all or nothing.

The new state, the version bump (optimistic check), the effects of leaving and entering states
and the log row are written in the caller's transaction: committed together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from clausier import clock
from clausier.config import Settings, get_settings
from clausier.errors import (
    GuardRefused,
    InvalidInput,
    TransitionNotAllowed,
    UnknownRecord,
    UnknownTrigger,
    VersionConflict,
)
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Contractor
from clausier.partnerships import assignment
from clausier.tasks.models import Task, TaskStatus
from clausier.tasks.service import convention_services
from clausier.validation.messages import dotted, french_message
from notifications import schedule
from workflow import machine
from workflow.context import TransitionContext
from workflow.lifecycle import STATE_LABELS, TRIGGERS, triggers_from
from workflow.payloads import EXAMPLES, PAYLOADS
from workflow.possible import close_facts, triggers_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    market: str
    trigger: str
    from_state: str
    to_state: str
    version: int
    log_id: int


# Statements built once: a transition runs several, and building one costs more than running it.
_MARKET_BY_REF = select(Market).where(Market.ref == bindparam("ref"))
_CONTRACTORS = select(Contractor).where(Contractor.siret.in_(bindparam("sirets", expanding=True)))
# What a transition reads of the market, in one round trip: the market, its lots and its open
# tasks, one row per (lot, task) pair (a few lots, fewer open tasks: a handful of rows).
_MARKET_LOTS_TASKS = (
    select(Market, Lot, Task)
    .outerjoin(Lot, Lot.market_id == Market.id)
    .outerjoin(Task, and_(Task.market_id == Market.id, Task.status == TaskStatus.open))
    .where(Market.ref == bindparam("ref"))
    .order_by(Lot.number, Task.id)
)
_markets = Market.__table__
_BUMP = (
    update(_markets)
    .where(_markets.c.id == bindparam("market_id"), _markets.c.version == bindparam("expected"))
    .values(state=bindparam("dest"), version=bindparam("bumped"), updated_at=bindparam("at"))
)
_LOG = insert(TransitionLog.__table__)


def _distinct(objects) -> list:
    """The rows' objects once each, in order of first appearance (models are not hashable)."""
    return list({id(obj): obj for obj in objects if obj is not None}.values())


def market_by_ref(session: Session, ref: str) -> Market:
    market = session.exec(_MARKET_BY_REF, params={"ref": ref}).first()
    if market is None:
        raise UnknownRecord("Marché", ref)
    return market


def _parse_payload(trigger: str, data: dict[str, Any] | None) -> Any:
    try:
        return PAYLOADS[trigger].model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"« {dotted(error['loc']) or 'données'} » : {french_message(error)}"
            for error in exc.errors()
        )
        example = f" Exemple : --data '{EXAMPLES[trigger]}'." if trigger in EXAMPLES else ""
        raise InvalidInput(f"Données invalides pour « {trigger} » : {problems}.{example}") from exc


def _reschedule_reminders(session: Session, ctx: TransitionContext) -> None:
    """Reminders follow the transition: closed tasks and stopped follows are cancelled, new tasks
    and entered states scheduled, in the transition's transaction."""
    closed = [task.id for task in ctx.open_tasks if task.status != TaskStatus.open]
    reason = f"{ctx.trigger} : le marché a quitté l'état « {STATE_LABELS[ctx.source]} »"
    schedule.cancel(session, task_ids=closed, reason=reason)
    if ctx.stop_following:
        stopped = [
            name
            for name, rule in ctx.settings.reminders.items()
            if rule.follows in ctx.stop_following
        ]
        schedule.cancel(
            session, market_id=ctx.market.id, rules=stopped, reason=reason,
            keep_periods=ctx.keep_periods,
        )  # fmt: skip
    rows = schedule.for_tasks(
        ctx.new_tasks,
        rules=ctx.settings.reminders,
        departement=ctx.departement,
        today=ctx.today,
        settings=ctx.settings.notifications,
        followed_by=ctx.market.structure_id,
    )
    schedule.add(session, rows + ctx.new_reminders)


def fire(
    session: Session,
    *,
    ref: str,
    trigger: str,
    actor: str,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    settings: Settings | None = None,
) -> Fired:
    """Fire ``trigger`` on market ``ref``; the caller commits (or rolls back on error)."""
    rows = session.exec(_MARKET_LOTS_TASKS, params={"ref": ref}).all()
    if not rows:
        raise UnknownRecord("Marché", ref)
    market = rows[0][0]
    lots = _distinct(lot for _, lot, _ in rows)
    open_tasks = _distinct(task for _, _, task in rows)
    if expected_version is not None and market.version != expected_version:
        raise VersionConflict(market=ref, expected=expected_version)
    today, at = clock.today(), clock.now()
    coverage = assignment.refresh(session, market, today=today).coverage
    place = coverage.place

    state = market.state

    def possible_now():  # weighed only to explain a refusal
        return triggers_now(session, market, lots, today=today, coverage=coverage)

    if trigger not in TRIGGERS:
        possible = possible_now()
        raise UnknownTrigger(
            trigger=trigger,
            known=list(TRIGGERS),
            allowed=possible.allowed,
            needs=possible.needs,
            blocked=possible.blocked,
        )
    if trigger not in triggers_from(state):
        possible = possible_now()
        raise TransitionNotAllowed(
            market=ref,
            state=state,
            state_label=STATE_LABELS[state],
            trigger=trigger,
            allowed=possible.allowed,
            needs=possible.needs,
            blocked=possible.blocked,
        )

    payload = _parse_payload(trigger, data)
    sirets = sorted(set(getattr(payload, "contractors", {}).values()))
    contractors = (
        {c.siret: c for c in session.exec(_CONTRACTORS, params={"sirets": sirets}).all()}
        if sirets
        else {}
    )
    settings = settings or get_settings()
    task_settings = settings.tasks
    entering = TRIGGERS[trigger].dest
    # read only when the state entered opens tasks: whose they are depends on the services
    opens = any(k.state == entering and k.opened_by is None for k in task_settings.kinds.values())
    ctx = TransitionContext(
        settings=settings,
        market=market,
        lots=lots,
        trigger=trigger,
        source=state,
        dest=entering,
        actor=actor,
        payload=payload,
        at=at,
        today=today,
        contractors=contractors,
        task_kinds=task_settings.kinds,
        due_time=task_settings.due_time,
        departement=place.departement_code,
        coverage=coverage,
        open_tasks=open_tasks,
        convention_services=convention_services(session, market) if opens else None,
    )
    close_facts(session, market, lots, [trigger], today=today, settings=settings).into(ctx)
    dest = machine.run(trigger, ctx)
    if dest is None:
        others = possible_now().apart_from(trigger)
        raise GuardRefused(
            market=ref,
            state=state,
            state_label=STATE_LABELS[state],
            trigger=trigger,
            reasons=ctx.refusals,
            allowed=others.allowed,
            needs=others.needs,
            blocked=others.blocked,
        )

    version = market.version
    # The guarded bump first, through the connection (no autoflush, nothing to synchronise):
    # a concurrent transition that read the same version stops here, before writing anything.
    bumped = session.connection().execute(
        _BUMP,
        {
            "market_id": market.id,
            "expected": version,
            "dest": dest,
            "bumped": version + 1,
            "at": at,
        },
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=ref, expected=version)
    set_committed_value(market, "state", dest)
    set_committed_value(market, "version", version + 1)
    set_committed_value(market, "updated_at", at)
    logged = session.connection().execute(
        _LOG,
        {
            "market_id": market.id,
            "from_state": state,
            "to_state": dest,
            "trigger": trigger,
            "actor": actor,
            "at": at,
            "payload": payload.model_dump(mode="json", exclude_defaults=True),
        },
    )
    session.add_all(ctx.new_tasks)
    # One flush: the callbacks' changes to the market, its lots and its tasks, and the new tasks
    # (which get their ids, needed by their reminders).
    session.flush()
    _reschedule_reminders(session, ctx)
    log.info("%s: %s -> %s (%s, version %s) by %s", ref, state, dest, trigger, version + 1, actor)
    return Fired(
        market=ref,
        trigger=trigger,
        from_state=state,
        to_state=dest,
        version=version + 1,
        log_id=logged.inserted_primary_key[0],
    )
