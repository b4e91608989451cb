"""The task queue and what a facilitator does with a task: take, assign, complete, cancel.

Each action locks the task and reads it afresh (``clausier.db.locks``) before it checks it:
of many « fait » sent at once one wins and the others read « déjà faite », a task is taken by
one facilitator, and nothing is handed over once the task is closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from clausier.config import Settings, get_settings
from clausier.db.locks import locked
from clausier.db.statements import narrowed
from clausier.errors import Refused, UnknownRecord
from clausier.markets.models import Lot, Market, designation
from clausier.partners.lookup import facilitator_by_email
from clausier.partners.models import Facilitator, Structure
from clausier.partnerships.models import ConventionService, Service
from clausier.referential.service import place_of
from clausier.tasks.models import PRIORITY_LABELS, Task, TaskStatus
from clausier.tasks.planning import holder, serving, tasks_for_state
from notifications import schedule


class TaskRefused(Refused):
    """Cette action sur la tâche est refusée."""


@dataclass(frozen=True)
class QueueRow:
    task: Task
    market: Market
    structure: Structure | None
    assignee: Facilitator | None
    overdue: bool
    lot: Lot | None = None  # a task opened per lot (a statement to check, a lot behind pace)

    def label(self, kinds: dict) -> str:
        """What the task is, and of which lot: two lots behind pace are two lines that say so."""
        lot = self.lot
        return task_label(
            self.task.kind, kinds, lot.number if lot else None, lot.title if lot else None
        )

    def as_dict(self, kinds: dict) -> dict:
        """The task as the CLI, the API and the market page show it."""
        task, lot = self.task, self.lot
        return task_document(
            kinds, id=task.id, kind=task.kind, due_at=task.due_at, overdue=self.overdue,
            priority=task.priority, state=task.state, market_ref=self.market.ref,
            market_title=self.market.title, structure_ref=self.structure and self.structure.ref,
            assignee_email=self.assignee and self.assignee.email,
            lot_number=lot and lot.number, lot_title=lot and lot.title,
        )  # fmt: skip


def task_label(kind: str, kinds: dict, lot_number: int | None, lot_title: str | None) -> str:
    spec = kinds.get(kind)
    label = spec.label if spec else kind
    return f"{label} — {designation(lot_number, lot_title)}" if lot_number is not None else label


def task_document(
    kinds: dict, *, id: int, kind: str, due_at: datetime, overdue: bool, priority: int,
    state: str, market_ref: str, market_title: str, structure_ref: str | None,
    assignee_email: str | None, lot_number: int | None, lot_title: str | None,
) -> dict:  # fmt: skip
    """A task as the CLI, the API and the pages show it, from a queue row or plain columns. A
    task no structure holds is the buyer's (its convention lacks the task's service, or nobody
    follows the market): ``auth.scope.task_condition`` shows it to the buyer only."""
    spec = kinds.get(kind)
    return {
        "id": id,
        "kind": kind,
        "service": spec.service if spec else None,
        "label": task_label(kind, kinds, lot_number, lot_title),
        "lot": {"number": lot_number, "title": lot_title} if lot_number is not None else None,
        "due_at": due_at.isoformat(),
        "overdue": overdue,
        "priority": PRIORITY_LABELS.get(priority, str(priority)),
        "market": market_ref,
        "market_title": market_title,
        "state": state,
        "structure": structure_ref,
        "owner": "structure" if structure_ref is not None else "buyer",
        "assignee": assignee_email,
    }


# The queue's statements without their filters, built once: the status lookup and the queue
# endpoint run them on every request.
_QUEUE = (
    select(Task, Market, Structure, Facilitator, Lot)
    .select_from(Task)
    .join(Market, Market.id == Task.market_id)
    .outerjoin(Structure, Structure.id == Task.structure_id)
    .outerjoin(Facilitator, Facilitator.id == Task.assignee_id)
    .outerjoin(Lot, Lot.id == Task.lot_id)
    .where(Task.status == TaskStatus.open)
    # Overdue means due before ``now``, so due date order already puts the overdue first; and
    # it is the order of ``ix_task_queue (status, structure_id, due_at)``, which a page can
    # follow without sorting every open task.
    .order_by(Task.due_at, Task.priority, Task.id)
)
_COUNT = select(func.count()).select_from(Task).where(Task.status == TaskStatus.open)
# A market's open tasks as plain columns, for its status lookup (no object per row).
_MARKET_QUEUE = _QUEUE.with_only_columns(
    Task.id, Task.kind, Task.due_at, Task.priority, Task.state,
    Market.ref.label("market_ref"), Market.title.label("market_title"),
    Structure.ref.label("structure_ref"), Facilitator.email.label("assignee_email"),
    Lot.number.label("lot_number"), Lot.title.label("lot_title"),
    maintain_column_froms=False,
).where(Task.market_id == bindparam("market_id"))  # fmt: skip


def _open_tasks(
    query,
    *,
    now: datetime,
    structure: Structure | None,
    facilitator: Facilitator | None,
    kind: str | None,
    market: Market | None,
    overdue_only: bool,
    scope,
):
    """The queue's filters on ``query`` (open tasks): conditions on ``task`` alone (``scope``
    too, as ``auth.scope.task_condition`` makes it), so that the count needs no join."""
    if structure is not None:
        query = query.where(Task.structure_id == structure.id)
    if facilitator is not None:
        query = query.where(
            (Task.assignee_id == facilitator.id)
            | ((Task.assignee_id.is_(None)) & (Task.structure_id == facilitator.structure_id))
        )
    if kind is not None:
        query = query.where(Task.kind == kind)
    if market is not None:
        query = query.where(Task.market_id == market.id)
    if overdue_only:
        query = query.where(Task.due_at < now)
    if scope is not None:  # the caller's reach (API roles)
        query = query.where(scope)
    return query


def queue(
    session: Session,
    *,
    now: datetime,
    structure: Structure | None = None,
    facilitator: Facilitator | None = None,
    kind: str | None = None,
    market: Market | None = None,
    overdue_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
    scope=None,
) -> list[QueueRow]:
    """Open tasks, overdue first, then by due date, then by priority.

    A facilitator sees the tasks assigned to them and those of their structure nobody has taken.
    """
    query = _open_tasks(
        _QUEUE, now=now, structure=structure, facilitator=facilitator, kind=kind, market=market,
        overdue_only=overdue_only, scope=scope,
    )  # fmt: skip
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [
        QueueRow(task=t, market=m, structure=s, assignee=f, overdue=t.due_at < now, lot=lot)
        for t, m, s, f, lot in session.exec(query).all()
    ]


def market_queue(
    session: Session, market: Market, *, now: datetime, kinds: dict, scope=None
) -> list[dict]:
    """The market's open tasks within ``scope``, as ``QueueRow.as_dict`` shows them (the queue
    with ``market=``, for the status lookup): read as columns, by a statement built once per
    caller's reach (``db.statements``)."""
    rows = session.connection().execute(narrowed(_MARKET_QUEUE, scope), {"market_id": market.id})
    return [task_document(kinds, overdue=row.due_at < now, **row._mapping) for row in rows]


def queue_total(
    session: Session,
    *,
    now: datetime,
    structure: Structure | None = None,
    facilitator: Facilitator | None = None,
    kind: str | None = None,
    market: Market | None = None,
    overdue_only: bool = False,
    scope=None,
) -> int:
    """How many tasks ``queue`` lists with the same filters: a page needs only its own rows.

    Counted on ``task`` alone: every task has its market (a foreign key), so the join adds none."""
    query = _open_tasks(
        _COUNT, now=now, structure=structure, facilitator=facilitator, kind=kind, market=market,
        overdue_only=overdue_only, scope=scope,
    )  # fmt: skip
    return session.exec(query).one()


def task_by_id(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise UnknownRecord("Tâche", str(task_id))
    return task


def _locked_task(session: Session, task_id: int) -> Task:
    task = locked(session, Task, [task_id]).get(task_id)
    if task is None:
        raise UnknownRecord("Tâche", str(task_id))
    return task


def _facilitator_or_operator(session: Session, actor: str) -> Facilitator | None:
    """The facilitator behind ``actor``, None for an operator (admin) acting from the CLI."""
    return session.exec(
        select(Facilitator).where(func.lower(Facilitator.email) == actor.strip().lower())
    ).first()


def _check_can_touch(session: Session, task: Task, actor: str) -> Facilitator | None:
    person = _facilitator_or_operator(session, actor)
    if person is not None and person.structure_id != task.structure_id:
        raise TaskRefused(
            f"{person.email} n'appartient pas à la structure de la tâche {task.id} : "
            "seuls ses facilitateurs peuvent y toucher."
        )
    if task.status != TaskStatus.open:
        when = task.closed_at.strftime("%d/%m/%Y") if task.closed_at else "?"
        word = "déjà faite" if task.status == TaskStatus.done else "annulée"
        raise TaskRefused(f"La tâche {task.id} est {word} (le {when}, par {task.closed_by}).")
    return person


def assign(session: Session, task_id: int, *, to: str, actor: str) -> Task:
    task = _locked_task(session, task_id)
    _check_can_touch(session, task, actor)
    person = facilitator_by_email(session, to)
    if person.structure_id != task.structure_id:
        raise TaskRefused(f"{person.email} n'appartient pas à la structure de la tâche {task.id}.")
    if not person.active:
        raise TaskRefused(f"{person.email} n'est plus actif : choisissez un autre facilitateur.")
    task.assignee_id = person.id
    session.add(task)
    return task


def take(session: Session, task_id: int, *, actor: str) -> Task:
    """Take a task nobody has taken (taking one's own again changes nothing); a colleague's is
    handed over with ``assign``."""
    task = _locked_task(session, task_id)
    _check_can_touch(session, task, actor)
    holder = session.get(Facilitator, task.assignee_id) if task.assignee_id else None
    if holder is not None and holder.email.lower() != actor.strip().lower():
        raise TaskRefused(
            f"La tâche {task.id} est déjà prise par {holder.name} ({holder.email}) : "
            "demandez-lui de vous la confier."
        )
    return assign(session, task_id, to=actor, actor=actor)


def complete(
    session: Session, task_id: int, *, actor: str, now: datetime, comment: str | None = None
) -> Task:
    task = _locked_task(session, task_id)
    _check_can_touch(session, task, actor)
    task.status, task.closed_at, task.closed_by = TaskStatus.done, now, actor
    task.comment = comment
    session.add(task)
    schedule.cancel(session, task_ids=[task.id], reason=f"tâche faite par {actor}")
    return task


def cancel(session: Session, task_id: int, *, actor: str, now: datetime, reason: str) -> Task:
    if len(reason.strip()) < 3:
        raise TaskRefused("Indiquez pourquoi la tâche est annulée (3 caractères au moins).")
    task = _locked_task(session, task_id)
    _check_can_touch(session, task, actor)
    task.status, task.closed_at, task.closed_by = TaskStatus.cancelled, now, actor
    task.cancel_reason = reason.strip()
    session.add(task)
    schedule.cancel(session, task_ids=[task.id], reason=f"tâche annulée par {actor}")
    return task


def colleagues(session: Session, structure_ids: set[int]) -> dict[int, list[Facilitator]]:
    """The active facilitators of each structure, a task may be handed to."""
    people: dict[int, list[Facilitator]] = {sid: [] for sid in structure_ids}
    if structure_ids:
        for person in session.exec(
            select(Facilitator)
            .where(Facilitator.structure_id.in_(structure_ids), Facilitator.active)
            .order_by(Facilitator.name)
        ).all():
            people[person.structure_id].append(person)
    return people


_SERVICES = select(ConventionService.service).where(
    ConventionService.convention_id == bindparam("convention_id")
)


def convention_services(session: Session, market: Market) -> frozenset[str] | None:
    """The services of the convention that assigned the market (None: it has none, and its
    tasks go to whichever structure follows it, as before conventions listed services)."""
    if market.convention_id is None:
        return None
    return frozenset(session.exec(_SERVICES, params={"convention_id": market.convention_id}).all())


def offer_preparer(session: Session, market: Market) -> int | None:
    """The structure that prepares the market's insertion offer; None: its buyer does."""
    return serving(Service.prepare_offer, market, convention_services(session, market))


def open_initial_tasks(
    session: Session, market: Market, *, settings: Settings, today: date
) -> list[Task]:
    """The tasks (and their reminders) of an imported market's state, as if it had just entered it."""
    departement = place_of(session, market.commune_code).departement_code
    tasks = tasks_for_state(
        market.state,
        market=market,
        kinds=settings.tasks.kinds,
        entered_on=today,
        departement=departement,
        due_time=settings.tasks.due_time,
        services=convention_services(session, market),
    )
    session.add_all(tasks)
    session.flush()
    common = {
        "rules": settings.reminders,
        "departement": departement,
        "today": today,
        "settings": settings.notifications,
    }
    schedule.add(session, schedule.for_tasks(tasks, **common, followed_by=market.structure_id))
    if market.state == "execution":
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        schedule.add(
            session,
            schedule.for_execution(
                market, lots, declaration_day=settings.offer.declaration_day, **common
            ),
        )
    return tasks


def follow_structure(session: Session, market: Market, *, kinds: dict | None = None) -> None:
    """Open tasks move with the market to its newly assigned structure (and are untaken); those
    of a service its convention lacks go to the buyer, and come back when a convention has it.
    ``kinds``: the configured task kinds (default: this process's settings)."""
    tasks = session.exec(
        select(Task).where(Task.market_id == market.id, Task.status == TaskStatus.open)
    ).all()
    if not tasks:
        return
    kinds = get_settings().tasks.kinds if kinds is None else kinds
    services = convention_services(session, market)
    for task in tasks:
        structure_id = holder(kinds.get(task.kind), market, services)
        if task.structure_id != structure_id:
            task.structure_id, task.assignee_id = structure_id, None
            session.add(task)
