"""When reminders fall due: computed from the rules when a task opens, when execution starts,
and by the daily planner for conventions and coverage. Pure functions return the rows as plain
dicts of one shape; ``add`` writes them in the caller's transaction (the transition's, for the
lifecycle) with one multi-row INSERT: an award schedules well over a hundred reminders, and an
ORM object per row cost more than the rest of the transition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, update
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
    return datetime.combine(day, settings.office_start, tzinfo=PARIS).astimezone(UTC)


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


def add(session: Session, rows: list[dict]) -> None:
    """Write reminder rows in the session's transaction, in one statement."""
    if rows:
        created = {"created_at": clock.now()}
        session.execute(insert(Reminder.__table__), [{**row, **created} for row in rows])


def for_tasks(
    tasks: Iterable[Task],
    *,
    rules: dict[str, ReminderRule],
    departement: str | None,
    today: date,
    settings: NotificationSettings,
) -> list[dict]:
    reminders = []
    for task in tasks:
        due_day = task.due_at.astimezone(PARIS).date()
        for name, rule in rules.items():
            if rule.follows != "task":
                continue
            for occ in occurrences(rule, due_day, departement, today):
                reminders.append(
                    row(
                        rule=name, recipient_role=occ.role, market_id=task.market_id, task_id=task.id,
                        occurrence=occ.number, due_at=at_office_start(occ.day, settings),
                        idempotency_key=f"{name}:task:{task.id}:{occ.number}",
                    )
                )  # fmt: skip
    return reminders


def declaration_deadline(period: date, day_of_month: int, departement: str | None) -> date:
    """The monthly declaration of ``period`` is due on that day of the next month (a business day)."""
    following = period.replace(day=1) + relativedelta(months=1)
    return add_business_days(following.replace(day=day_of_month), 0, departement)


def months(first: date, last: date) -> list[date]:
    current, out = first.replace(day=1), []
    while current <= last:
        out.append(current)
        current += relativedelta(months=1)
    return out


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
    for name, rule in rules.items():
        if rule.follows == "declaration" and starts and ends:
            for period in months(starts, ends):
                deadline = declaration_deadline(period, declaration_day, departement)
                if (
                    deadline < today
                ):  # a period already closed when execution is entered or imported
                    continue
                for lot in clause_lots:
                    for occ in occurrences(rule, deadline, departement, today):
                        reminders.append(
                            row(
                                rule=name, recipient_role=occ.role, market_id=market.id, lot_id=lot.id,
                                period=f"{period:%Y-%m}", occurrence=occ.number,
                                due_at=at_office_start(occ.day, settings),
                                idempotency_key=f"{name}:lot:{lot.id}:{period:%Y-%m}:{occ.number}",
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


def cancel(
    session: Session,
    *,
    reason: str,
    task_ids: Iterable[int] = (),
    market_id: int | None = None,
    rules: Iterable[str] = (),
    lot_period: tuple[int, str] | None = None,
) -> None:
    """Cancel the pending reminders (not yet handed to the outbox) of tasks, of a lot's month or
    of a market."""
    query = update(Reminder).where(
        Reminder.status == ReminderStatus.pending, Reminder.message_id.is_(None)
    )
    task_ids, rules = list(task_ids), list(rules)
    if task_ids:
        query = query.where(Reminder.task_id.in_(task_ids))
    elif lot_period is not None:  # a month declared: its declaration reminders stop
        query = query.where(Reminder.lot_id == lot_period[0], Reminder.period == lot_period[1])
    elif market_id is not None:
        query = query.where(Reminder.market_id == market_id, Reminder.rule.in_(rules))
    else:
        return
    session.execute(query.values(status=ReminderStatus.cancelled, cancel_reason=reason))
