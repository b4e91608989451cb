"""Fire a trigger on a market against the store, all or nothing.

The new state, the version bump (optimistic check), the effects of leaving and entering states
and the log row are written in the caller's transaction: committed together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from clausier import clock
from clausier.beneficiaries import outcomes
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
from clausier.referential.service import place_of
from clausier.tasks.models import Task, TaskStatus
from clausier.validation.messages import dotted, french_message
from notifications import schedule
from workflow import machine
from workflow.context import TransitionContext
from workflow.lifecycle import STATE_LABELS, TRIGGERS, allowed_triggers
from workflow.payloads import EXAMPLES, PAYLOADS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    market: str
    trigger: str
    from_state: str
    to_state: str
    version: int
    log_id: int


def market_by_ref(session: Session, ref: str) -> Market:
    market = session.exec(select(Market).where(Market.ref == ref)).first()
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
        schedule.cancel(session, market_id=ctx.market.id, rules=stopped, reason=reason)
    rows = schedule.for_tasks(
        ctx.new_tasks,
        rules=ctx.settings.reminders,
        departement=ctx.departement,
        today=ctx.today,
        settings=ctx.settings.notifications,
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
    market = market_by_ref(session, ref)
    if expected_version is not None and market.version != expected_version:
        raise VersionConflict(market=ref, expected=expected_version)
    today, at = clock.today(), clock.now()
    assignment.refresh(session, market, today=today)

    state = market.state
    allowed = allowed_triggers(state)
    if trigger not in TRIGGERS:
        raise UnknownTrigger(trigger=trigger, known=list(TRIGGERS), allowed=allowed)
    if trigger not in allowed:
        raise TransitionNotAllowed(
            market=ref,
            state=state,
            state_label=STATE_LABELS[state],
            trigger=trigger,
            allowed=allowed,
        )

    payload = _parse_payload(trigger, data)
    lots = list(
        session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    )
    sirets = set(getattr(payload, "contractors", {}).values())
    contractors = (
        {
            c.siret: c
            for c in session.exec(select(Contractor).where(Contractor.siret.in_(sirets))).all()
        }
        if sirets
        else {}
    )
    settings = settings or get_settings()
    task_settings = settings.tasks
    ctx = TransitionContext(
        settings=settings,
        market=market,
        lots=lots,
        trigger=trigger,
        source=state,
        dest=TRIGGERS[trigger].dest,
        actor=actor,
        payload=payload,
        at=at,
        today=today,
        contractors=contractors,
        task_kinds=task_settings.kinds,
        due_time=task_settings.due_time,
        departement=place_of(session, market.commune_code).departement_code,
        open_tasks=list(
            session.exec(
                select(Task).where(Task.market_id == market.id, Task.status == TaskStatus.open)
            ).all()
        ),
    )
    if trigger == "close":
        ctx.missing_outcomes = outcomes.missing_outcomes(session, market)
    dest = machine.run(trigger, ctx)
    if dest is None:
        raise GuardRefused(
            market=ref,
            state=state,
            state_label=STATE_LABELS[state],
            trigger=trigger,
            reasons=ctx.refusals,
            allowed=allowed,
        )

    version = market.version
    session.flush()  # the callbacks' changes to the market, its lots and its tasks
    bumped = session.execute(
        update(Market)
        .where(Market.id == market.id, Market.version == version)
        .values(state=dest, version=version + 1, updated_at=at)
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=ref, expected=version)
    set_committed_value(market, "state", dest)
    set_committed_value(market, "version", version + 1)
    set_committed_value(market, "updated_at", at)
    entry = TransitionLog(
        market_id=market.id,
        from_state=state,
        to_state=dest,
        trigger=trigger,
        actor=actor,
        at=at,
        payload=payload.model_dump(mode="json", exclude_defaults=True),
    )
    session.add(entry)
    session.add_all(ctx.new_tasks)
    session.flush()  # the new tasks get their ids
    _reschedule_reminders(session, ctx)
    session.flush()
    log.info("%s: %s -> %s (%s, version %s) by %s", ref, state, dest, trigger, version + 1, actor)
    return Fired(
        market=ref,
        trigger=trigger,
        from_state=state,
        to_state=dest,
        version=version + 1,
        log_id=entry.id,
    )
