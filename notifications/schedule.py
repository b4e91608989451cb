"""When reminders fall due: computed from the rules when a task opens, when execution starts,
and by the daily planner for conventions and coverage. Pure functions return the rows as plain
dicts of one shape; ``add`` writes them in the caller's transaction (the transition's, for the
lifecycle) with one executemany of an INSERT compiled once: an award schedules well over a
hundred reminders, and an ORM object per row cost more than the rest of the transition."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, insert, or_, update
from sqlmodel import Session

from clausier import clock
from clausier.business_days import add_business_days
from clausier.clock import PARIS
from clausier.markets.models import Lot, Market
from clausier.tasks.models import Task
from notifications.models import Reminder, ReminderStatus
from notifications.settings import NotificationSettings, ReminderRule


@dataclass(frozen=True)
class Occurrence:
    day: date
    role: str
    number: int


def at_office_start(day: date, settings: NotificationSettings) -> datetime:
    return _at(day, settings.office_start)


@lru_cache(maxsize=1 << 12)  # an award asks for the same few dozen days over and over
def _at(day: date, start: time) -> datetime:
    return datetime.combine(day, start, tzinfo=PARIS).astimezone(UTC)


def occurrences(
    rule: ReminderRule, anchor: date, departement: str | None, today: date
) -> list[Occurrence]:
    """The days a rule speaks, relative to ``anchor`` (a due date, a deadline, an end date).

    A reminder that would have fallen in the past is not sent in a burst: a late sequence
    (overdue, missing) starts today and keeps its rhythm; a warning before a date still to come
    goes out today; one about a date already past is dropped.
    """
    if rule.after_business_days is None:
        weeks = timedelta(weeks=rule.before_weeks or 0)
        day = add_business_days(anchor - weeks, -(rule.before_business_days or 0), departement)
        if day < today:
            if anchor < today or rule.before_business_days:
                return []
            day = add_business_days(today, 0, departement)
        return [Occurrence(day, rule.to, 0)]
    day = max(
        add_business_days(anchor, rule.after_business_days, departement),
        add_business_days(today, 0, departement),
    )
    planned = [Occurrence(day, rule.to, 0)]
    step = rule.repeat.every_business_days if rule.repeat else 1
    for _ in range(rule.repeat.times if rule.repeat else 0):
        day = add_business_days(day, step, departement)
        planned.append(Occurrence(day, rule.to, len(planned)))
    for role in rule.escalate:
        day = add_business_days(day, step, departement)
        planned.append(Occurrence(day, role, len(planned)))
    return planned


def row(
    *, rule: str, recipient_role: str, idempotency_key: str, due_at: datetime, **values
) -> dict:
    """A pending reminder row, every column present but ``created_at`` (stamped by ``add``)."""
    return {
        "rule": rule, "recipient_role": recipient_role, "idempotency_key": idempotency_key,
        "market_id": None, "task_id": None, "lot_id": None, "convention_id": None, "period": None,
        "occurrence": 0, "due_at": due_at, "status": ReminderStatus.pending.value,
        "claimed_until": None, "claimed_by": None, "message_id": None, "recipient_email": None,
        "cancel_reason": None, **values,
    }  # fmt: skip


# The columns ``add`` writes, ``created_at`` last (one instant for the whole batch).
_COLUMNS = tuple(c.key for c in Reminder.__table__.columns if c.key not in ("id", "created_at"))
_ROW = itemgetter(*_COLUMNS)
_KEYS = (*_COLUMNS, "created_at")


@dataclass(frozen=True)
class _Insert:
    """The reminder INSERT compiled once for a dialect, with the columns that need a bind
    processor (the instants) and that processor."""

    sql: str
    positional: bool
    processed: tuple[tuple[int, Callable], ...]  # (index in _COLUMNS, memoised processor)
    created: Callable | None  # created_at's processor


_inserts: dict[tuple[str, str], _Insert] = {}


def _insert_for(dialect) -> _Insert:
    compiled = _inserts.get((dialect.name, dialect.driver))
    if compiled is None:
        statement = insert(Reminder.__table__).compile(
            dialect=dialect, column_keys=_KEYS, for_executemany=True
        )
        if dialect.positional and tuple(statement.positiontup) != _KEYS:
            raise RuntimeError("reminder INSERT: unexpected parameter order")
        columns = Reminder.__table__.columns
        processors = [columns[key].type.bind_processor(dialect) for key in _KEYS]
        compiled = _inserts[dialect.name, dialect.driver] = _Insert(
            sql=statement.string,
            positional=dialect.positional,
            # pure functions of the value, and an award's due days recur in the next one
            processed=tuple(
                (i, lru_cache(maxsize=1 << 12)(p))
                for i, p in enumerate(processors[:-1])
                if p is not None
            ),
            created=processors[-1],
        )
    return compiled


def add(session: Session, rows: list[dict]) -> None:
    """Write reminder rows in the session's transaction, in one executemany.

    The statement is compiled once and each value goes through its column type's own bind
    processor, so what is stored is exactly what ``insert(Reminder)`` stores; SQLAlchemy's
    per-row parameter building cost as much as the INSERT itself for an award's 145 rows, and
    an instant shared by many rows (``created_at``, a due day) is converted once here.
    """
    if not rows:
        return
    connection = session.connection()
    compiled = _insert_for(connection.dialect)
    created = clock.now()
    if compiled.created is not None:
        created = compiled.created(created)
    bound = []
    for values in rows:
        line = [*_ROW(values), created]
        for index, processor in compiled.processed:
            line[index] = processor(line[index])
        bound.append(tuple(line) if compiled.positional else dict(zip(_KEYS, line, strict=True)))
    connection.exec_driver_sql(compiled.sql, bound)


def for_tasks(
    tasks: Iterable[Task],
    *,
    rules: dict[str, ReminderRule],
    departement: str | None,
    today: date,
    settings: NotificationSettings,
    followed_by: int | None,
) -> list[dict]:
    """The reminders of one market's ``tasks``; ``followed_by``: the structure that follows the
    market (a task it does not hold is then the buyer's, and so are its reminders)."""
    reminders = []
    for task in tasks:
        due_day = task.due_at.astimezone(PARIS).date()
        for name, rule in rules.items():
            if rule.follows != "task":
                continue
            for occ in occurrences(rule, due_day, departement, today):
                reminders.append(
                    row(
                        rule=name, recipient_role=task_recipient(occ.role, task, followed_by), market_id=task.market_id, task_id=task.id,
                        occurrence=occ.number, due_at=at_office_start(occ.day, settings),
                        idempotency_key=f"{name}:task:{task.id}:{occ.number}",
                    )
                )  # fmt: skip
    return reminders


def task_recipient(role: str, task: Task, followed_by: int | None) -> str:
    """Who a task's reminder for ``role`` reaches: a task the structure that follows the market
    (``followed_by``) does not hold is the buyer's (its convention lacks the service), and so
    are its facilitator's and structure's steps; a market no structure follows keeps them (they
    are cancelled at send time, saying so)."""
    if (
        task.structure_id is None
        and followed_by is not None
        and role in ("facilitator", "structure")
    ):
        return "buyer"
    return role


@lru_cache(maxsize=1 << 12)  # pure; every award asks for the same months
def declaration_deadline(period: date, day_of_month: int, departement: str | None) -> date:
    """The monthly declaration of ``period`` is due on that day of the next month (a business day)."""
    following = period.replace(day=1) + relativedelta(months=1)
    return add_business_days(following.replace(day=day_of_month), 0, departement)


def months(first: date, last: date) -> list[date]:
    return list(_months(first, last))


@lru_cache(maxsize=1 << 10)  # pure; relativedelta's arithmetic is slow
def _months(first: date, last: date) -> tuple[date, ...]:
    current, out = first.replace(day=1), []
    while current <= last:
        out.append(current)
        current += relativedelta(months=1)
    return tuple(out)


def for_execution(
    market: Market,
    lots: Iterable[Lot],
    *,
    rules: dict[str, ReminderRule],
    departement: str | None,
    today: date,
    declaration_day: int,
    settings: NotificationSettings,
) -> list[dict]:
    """Monthly declarations of each clause lot, and the end of execution with hours missing."""
    reminders = []
    starts, ends = market.execution_starts_on, market.execution_ends_on
    clause_lots = [lot for lot in lots if lot.carries_clause]
    market_id, lot_ids = market.id, [lot.id for lot in clause_lots]  # read once, not per row
    for name, rule in rules.items():
        if rule.follows == "declaration" and starts and ends:
            for period in months(starts, ends):
                deadline = declaration_deadline(period, declaration_day, departement)
                if (
                    deadline < today
                ):  # a period already closed when execution is entered or imported
                    continue
                month = f"{period:%Y-%m}"
                planned = [
                    (occ, at_office_start(occ.day, settings))
                    for occ in occurrences(rule, deadline, departement, today)
                ]  # the same days for every lot
                for lot_id in lot_ids:
                    for occ, due in planned:
                        reminders.append(
                            row(
                                rule=name, recipient_role=occ.role, market_id=market_id, lot_id=lot_id,
                                period=month, occurrence=occ.number, due_at=due,
                                idempotency_key=f"{name}:lot:{lot_id}:{month}:{occ.number}",
                            )
                        )  # fmt: skip
        elif rule.follows == "execution_end" and ends and clause_lots:
            # a contractor hears about its own lot; the facilitator about the market
            targets = clause_lots if rule.to == "contractor" else [None]
            for lot in targets:
                subject = f"lot:{lot.id}" if lot else f"market:{market.id}"
                for occ in occurrences(rule, ends, departement, today):
                    reminders.append(
                        row(
                            rule=name, recipient_role=occ.role, market_id=market.id,
                            lot_id=lot.id if lot else None, occurrence=occ.number,
                            due_at=at_office_start(occ.day, settings),
                            idempotency_key=f"{name}:{subject}:{ends.isoformat()}:{occ.number}",
                        )
                    )  # fmt: skip

    return reminders


def for_evaluation(
    market: Market,
    lots: Iterable[Lot],
    *,
    rules: dict[str, ReminderRule],
    departement: str | None,
    today: date,
    declaration_day: int,
    settings: NotificationSettings,
) -> list[dict]:
    """The shortfall notice to the buyer, once per market, when execution ends (``complete`` on
    ``today``): it falls due after the deadline of the last month executed, the last that may
    still change the hours validated; at send time it waits for the hours still to review."""
    ends = market.execution_ends_on
    if not any(lot.carries_clause for lot in lots):
        return []
    last = min(ends, today) if ends else today
    deadline = declaration_deadline(last.replace(day=1), declaration_day, departement)
    reminders = []
    for name, rule in rules.items():
        if rule.follows != "shortfall":
            continue
        for occ in occurrences(rule, deadline, departement, today):
            reminders.append(
                row(
                    rule=name, recipient_role=occ.role, market_id=market.id,
                    occurrence=occ.number, due_at=at_office_start(occ.day, settings),
                    idempotency_key=f"{name}:market:{market.id}:{occ.number}",
                )
            )  # fmt: skip
    return reminders


def _cancelling(*criteria):
    return (
        update(Reminder.__table__)
        .where(
            Reminder.status == ReminderStatus.pending.value,
            Reminder.message_id.is_(None),
            *criteria,
        )
        .values(status=ReminderStatus.cancelled.value, cancel_reason=bindparam("reason"))
    )


# Built once: building an UPDATE costs more than running it, and a transition cancels twice.
_CANCEL_TASKS = _cancelling(Reminder.task_id.in_(bindparam("task_ids", expanding=True)))
_CANCEL_LOT_PERIOD = _cancelling(
    Reminder.lot_id == bindparam("of_lot"), Reminder.period == bindparam("of_period")
)
_CANCEL_MARKET_RULES = _cancelling(
    Reminder.market_id == bindparam("of_market"),
    Reminder.rule.in_(bindparam("rules", expanding=True)),
)
# the same, but the reminders of the months kept go on (a month still declarable)
_CANCEL_MARKET_RULES_KEEPING = _cancelling(
    Reminder.market_id == bindparam("of_market"),
    Reminder.rule.in_(bindparam("rules", expanding=True)),
    or_(Reminder.period.is_(None), Reminder.period.not_in(bindparam("keep", expanding=True))),
)


def cancel(
    session: Session,
    *,
    reason: str,
    task_ids: Iterable[int] = (),
    market_id: int | None = None,
    rules: Iterable[str] = (),
    lot_period: tuple[int, str] | None = None,
    keep_periods: Iterable[str] = (),
) -> None:
    """Cancel the pending reminders (not yet handed to the outbox) of tasks, of a lot's month or
    of a market (but those of the months in ``keep_periods``)."""
    task_ids, rules = list(task_ids), list(rules)
    if task_ids:
        query, params = _CANCEL_TASKS, {"task_ids": task_ids}
    elif lot_period is not None:  # a month declared: its declaration reminders stop
        query, params = _CANCEL_LOT_PERIOD, {"of_lot": lot_period[0], "of_period": lot_period[1]}
    elif market_id is not None and keep_periods:
        query = _CANCEL_MARKET_RULES_KEEPING
        params = {"of_market": market_id, "rules": rules, "keep": sorted(keep_periods)}
    elif market_id is not None:
        query, params = _CANCEL_MARKET_RULES, {"of_market": market_id, "rules": rules}
    else:
        return
    # A plain UPDATE on the session's connection, as the ORM's bulk UPDATE would run it after
    # its autoflush; reminders loaded in the session are expired rather than synchronised.
    if session.autoflush:
        session.flush()
    session.connection().execute(query, {**params, "reason": reason})
    for obj in session.identity_map.values():
        if isinstance(obj, Reminder):
            session.expire(obj, ["status", "cancel_reason"])
