"""Which tasks a state opens and when they fall due; what leaving a state does to them.

Pure functions of the transition's context: the engine writes what they produce in the
transition's transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta

from clausier.business_days import add_business_days
from clausier.clock import PARIS
from clausier.config import TaskKind
from clausier.markets.models import Market
from clausier.tasks.models import PRIORITIES, Task, TaskStatus
from workflow.context import TransitionContext
from workflow.lifecycle import STATE_LABELS


def due_at(
    kind: TaskKind, *, market: Market, entered_on: date, departement: str | None, due_time: time
) -> datetime:
    """The due instant (UTC) of a task of ``kind`` opened on ``entered_on``."""
    anchor = (
        entered_on if kind.due.after == "entered" else getattr(market, kind.due.after) or entered_on
    )
    day = add_business_days(
        anchor + relativedelta(months=kind.due.months), kind.due.business_days, departement
    )
    return datetime.combine(day, due_time, tzinfo=PARIS).astimezone(UTC)


def holder(kind: TaskKind | None, market: Market, services: frozenset[str] | None) -> int | None:
    """The structure a task of ``kind`` is given to (``serving`` its service; a kind naming
    none is the structure's); None: the task is the buyer's (``auth.scope.task_condition``)."""
    return serving(kind.service if kind else None, market, services)


def serving(service: str | None, market: Market, services: frozenset[str] | None) -> int | None:
    """The structure that does ``service`` for ``market``: the market's, unless the convention
    that assigned it (its ``services``; None: no convention to ask) lacks it; then none, and
    the buyer does it (its tasks, the offer it prepares)."""
    if service is None or services is None or service in services:
        return market.structure_id
    return None


def tasks_for_state(
    state: str,
    *,
    market: Market,
    kinds: dict[str, TaskKind],
    entered_on: date,
    departement: str | None,
    due_time: time,
    services: frozenset[str] | None = None,
) -> list[Task]:
    """The tasks entering ``state`` opens; ``services``: those of the market's convention."""
    return [
        Task(
            kind=name,
            market_id=market.id,
            structure_id=holder(kind, market, services),
            state=state,
            due_at=due_at(
                kind,
                market=market,
                entered_on=entered_on,
                departement=departement,
                due_time=due_time,
            ),
            priority=PRIORITIES[kind.priority],
        )
        for name, kind in kinds.items()
        if kind.state == state and kind.opened_by is None
    ]


def open_on_enter(ctx: TransitionContext) -> None:
    ctx.new_tasks.extend(
        tasks_for_state(
            ctx.dest,
            market=ctx.market,
            kinds=ctx.task_kinds,
            entered_on=ctx.today,
            departement=ctx.departement,
            due_time=ctx.due_time,
            services=ctx.convention_services,
        )
    )


def settle_on_leave(ctx: TransitionContext) -> None:
    """Leaving a state closes its open tasks: done when the trigger completes the work, else
    cancelled with the reason kept."""
    for task in ctx.open_tasks:
        if task.state != ctx.source or task.status != TaskStatus.open:
            continue
        kind = ctx.task_kinds.get(task.kind)
        task.closed_at, task.closed_by = ctx.at, ctx.actor
        if kind is not None and ctx.trigger in kind.done_by:
            task.status = TaskStatus.done
        else:
            task.status = TaskStatus.cancelled
            task.cancel_reason = (
                f"le marché a quitté l'état « {STATE_LABELS[ctx.source]} » ({ctx.trigger})"
            )
