"""Tasks opened by events of a state (a statement to check, a lot behind pace, every hour
validated) rather than by entering it. Each is keyed, so an event seen twice opens one task."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from clausier.config import Settings
from clausier.db.locks import locked
from clausier.markets.models import Market
from clausier.referential.service import place_of
from clausier.tasks.models import PRIORITIES, Task, TaskStatus
from clausier.tasks.planning import due_at, holder
from clausier.tasks.service import convention_services
from notifications import schedule


def _about(key: str | None, names: list[str], subject: str) -> bool:
    """The key of a task of one of ``names`` about ``subject`` (any occurrence)."""
    return key is not None and any(
        key == f"{name}:{subject}" or key.startswith(f"{name}:{subject}:") for name in names
    )


def _tasks_of(session: Session, market_id: int, names: list[str]) -> list[Task]:
    """The market's tasks of these kinds: a few rows, found by the market's index. (Matching
    the key's prefix in SQL cannot use an index on SQLite, whose LIKE ignores case, and made the
    database read every open task of the country on each event.)"""
    return list(
        session.exec(select(Task).where(Task.market_id == market_id, Task.kind.in_(names))).all()
    )


def open_for_event(
    session: Session,
    event: str,
    *,
    market: Market,
    subject: str,
    settings: Settings,
    today: date,
    lot_id: int | None = None,
    occurrence: int | None = None,
) -> list[Task]:
    """Open the tasks of ``event`` about ``subject`` ("lot:12:2027-03"), with their reminders, in
    the caller's transaction; unless one is still open about it, or this ``occurrence`` (an
    amended statement is checked again) was already opened."""
    kinds = {
        name: kind
        for name, kind in settings.tasks.kinds.items()
        if kind.opened_by == event and kind.state == market.state
    }
    departement = place_of(session, market.commune_code).departement_code
    services = convention_services(session, market) if kinds else None
    opened = []
    for name, kind in kinds.items():
        key = f"{name}:{subject}" + (f":{occurrence}" if occurrence is not None else "")
        if any(
            _about(task.key, [name], subject)
            and (task.status == TaskStatus.open or task.key == key)
            for task in _tasks_of(session, market.id, [name])
        ):
            continue
        due = due_at(
            kind, market=market, entered_on=today, departement=departement,
            due_time=settings.tasks.due_time,
        )  # fmt: skip
        task = Task(
            kind=name, key=key, market_id=market.id, lot_id=lot_id,
            structure_id=holder(kind, market, services), state=market.state, due_at=due,
            priority=PRIORITIES[kind.priority],
        )  # fmt: skip
        session.add(task)
        opened.append(task)
    if not opened:
        return []
    session.flush()
    schedule.add(
        session,
        schedule.for_tasks(
            opened, rules=settings.reminders, departement=departement, today=today,
            settings=settings.notifications, followed_by=market.structure_id,
        ),
    )  # fmt: skip
    return opened


def settle_for_event(
    session: Session,
    event: str,
    *,
    market_id: int,
    subject: str,
    settings: Settings,
    actor: str,
    now: datetime,
) -> None:
    """The work an event asked for is done (every line of the statement reviewed)."""
    names = [name for name, k in settings.tasks.kinds.items() if k.opened_by == event]
    if not names:
        return
    ids = [
        task.id
        for task in _tasks_of(session, market_id, names)
        if task.status == TaskStatus.open and _about(task.key, names, subject)
    ]
    # locked and read again: a facilitator may have marked one done meanwhile
    tasks = [task for task in locked(session, Task, ids).values() if task.status == TaskStatus.open]
    for task in tasks:
        task.status, task.closed_at, task.closed_by = TaskStatus.done, now, actor
        session.add(task)
    if tasks:
        schedule.cancel(session, task_ids=[t.id for t in tasks], reason=f"fait par {actor}")
