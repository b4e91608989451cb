"""The sweep's claim of one batch of due reminders, as the pending reminders grow.

The table grows to each size (a fixed number of reminders due, the rest due later); the claim
of ``notifications.sweep._claim`` (the statement ``hand_over`` runs) is timed, its lease undone
between repeats, and the candidate query's plan printed (it must use ``ix_reminder_due``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlmodel import Session

from clausier.config import Settings
from notifications.models import Reminder, ReminderStatus
from notifications.sweep import _claim
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.stores import fresh_store

DUE = 5_000
BATCH = 10_000


def _conditions(now: datetime) -> tuple:
    return (Reminder.status == ReminderStatus.pending, Reminder.message_id.is_(None),
            Reminder.due_at <= now)  # fmt: skip


def _rows(start: int, stop: int, now: datetime) -> list[dict]:
    return [
        {"rule": "task_overdue", "recipient_role": "facilitator", "idempotency_key": f"bench:{i}",
         "occurrence": 0, "status": "pending", "created_at": now,
         "due_at": now - timedelta(minutes=1 + i % 600) if i < DUE else now + timedelta(days=1 + i % 700)}
        for i in range(start, stop)
    ]  # fmt: skip


def plan(session: Session, now: datetime, settings: Settings) -> str:
    query = (
        select(Reminder.id)
        .where(
            *_conditions(now), or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now)
        )
        .order_by(Reminder.due_at)
        .limit(settings.outbox.batch_size)
    )
    bind = session.get_bind()
    compiled = query.compile(dialect=bind.dialect)
    params = compiled.construct_params()
    with bind.connect() as connection:
        if bind.dialect.name == "sqlite":
            values = tuple(
                Reminder.__table__.c.due_at.type.process_bind_param(params[k], bind.dialect)
                if isinstance(params[k], datetime) else params[k]
                for k in compiled.positiontup
            )  # fmt: skip
            values = tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in values)
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values).all()
            return "; ".join(str(row[-1]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", params).all()
        return "\n    ".join(row[0] for row in rows)


def run(kind: str, *, sizes: list[int], repeats: int = 21) -> list[dict]:
    settings = Settings()
    now = datetime.now(UTC)
    results = []
    with fresh_store(kind) as store:
        have = 0
        for size in sizes:
            with store.engine.begin() as connection:
                for start in range(have, size, BATCH):
                    connection.execute(
                        insert(Reminder), _rows(start, min(size, start + BATCH), now)
                    )
                connection.exec_driver_sql("ANALYZE")
            have = size
            times = []
            for _ in range(repeats):
                with Session(store.engine) as session:
                    claimed: list[int] = []
                    times.append(timed(lambda s=session, out=claimed: out.extend(_claim(
                        s, Reminder, _conditions(now), Reminder.due_at, worker="bench", now=now,
                        settings=settings))))  # fmt: skip
                    assert len(claimed) == settings.outbox.batch_size, len(claimed)
                    session.execute(
                        update(Reminder)
                        .where(Reminder.id.in_(claimed))
                        .values(claimed_until=None, claimed_by=None)
                    )
                    session.commit()
            results.append(
                summary(f"claim {settings.outbox.batch_size} of {size:,} pending", times)
            )
            with Session(store.engine) as session:
                print(f"[{kind}] plan at {size:,} pending:\n    {plan(session, now, settings)}")
        show(
            f"[{kind}] sweep claim ({DUE:,} due), ratio to the smallest table",
            results,
            baseline=results[0]["name"],
            of="smallest",
        )
    return results
