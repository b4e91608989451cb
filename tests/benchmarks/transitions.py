"""Transitions through the engine against the same rows written with plain SQL.

``award`` takes a market from consultation to execution: the contractor of each lot, the state
and version, the log row, the consultation's task closed and its reminders cancelled, the
execution's tasks opened with their reminders and the monthly declaration reminders of each
clause lot (12 months, 2 lots). The raw baseline writes exactly the rows the engine wrote for a
twin market, through the DBAPI cursor, one transaction per market.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select
from sqlmodel import Session

from clausier.config import Settings
from clausier.demo.national import siret_for
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships.models import Convention, ConventionService, ConventionTerritory
from clausier.tasks.models import Task
from notifications.models import Reminder
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.stores import fresh_store
from workflow.engine import fire

COMMUNE = "14118"  # Caen
LOTS = 2
SIRET = siret_for(3, 1)


def _setup(store, count: int, now: datetime) -> None:
    today = now.date()
    with store.engine.begin() as c:
        c.execute(
            insert(Buyer),
            [
                {
                    "id": 1,
                    "siret": siret_for(2, 1),
                    "name": "Acheteur banc d'essai",
                    "email": "achats@bench.example.fr",
                    "created_at": now,
                }
            ],
        )
        c.execute(
            insert(Structure),
            [
                {
                    "id": 1,
                    "ref": "S-BENCH",
                    "name": "Structure",
                    "kind": "plie",
                    "email": "s@bench.example.fr",
                    "created_at": now,
                }
            ],
        )
        c.execute(
            insert(Facilitator),
            [
                {
                    "id": 1,
                    "structure_id": 1,
                    "email": "f@bench.example.fr",
                    "name": "F",
                    "active": True,
                    "digest": False,
                }
            ],
        )
        c.execute(
            insert(Contractor),
            [
                {
                    "id": 1,
                    "siret": SIRET,
                    "name": "Titulaire",
                    "email": "t@bench.example.fr",
                    "created_at": now,
                }
            ],
        )
        c.execute(
            insert(Convention),
            [
                {
                    "id": 1,
                    "ref": "CONV-BENCH",
                    "buyer_id": 1,
                    "structure_id": 1,
                    "starts_on": today - timedelta(days=400),
                    "ends_on": today + timedelta(days=400),
                    "renewal": "tacit",
                    "draft": False,
                    "renewals": 0,
                    "created_at": now,
                }
            ],
        )
        c.execute(
            insert(ConventionTerritory), [{"convention_id": 1, "kind": "departement", "code": "14"}]
        )
        c.execute(insert(ConventionService), [{"convention_id": 1, "service": "follow"}])
        starts = today + timedelta(days=30)
        c.execute(
            insert(Market),
            [
                {
                    "id": i,
                    "ref": f"BENCH-{i:06d}",
                    "buyer_id": 1,
                    "title": "Travaux",
                    "commune_code": COMMUNE,
                    "cpv": "45210000",
                    "amount": Decimal(2_000_000),
                    "consultation_on": today - timedelta(days=20),
                    "award_on": today,
                    "execution_starts_on": starts,
                    "execution_ends_on": starts + relativedelta(months=12) - timedelta(days=1),
                    "state": "consultation",
                    "version": 1,
                    "structure_id": 1,
                    "convention_id": 1,
                    "assignment": "automatic",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, count + 1)
            ],
        )
        c.execute(
            insert(Lot),
            [
                {
                    "id": (i - 1) * LOTS + n,
                    "market_id": i,
                    "number": n,
                    "title": f"Lot {n}",
                    "amount": Decimal(1_000_000),
                    "hours": 300,
                    "hours_validated": Decimal(0),
                    "clause_edited": False,
                }
                for i in range(1, count + 1)
                for n in range(1, LOTS + 1)
            ],
        )
        c.execute(
            insert(Task),
            [
                {
                    "id": i,
                    "kind": "inform_bidders",
                    "market_id": i,
                    "structure_id": 1,
                    "state": "consultation",
                    "due_at": now + timedelta(days=5),
                    "priority": 2,
                    "status": "open",
                    "created_at": now,
                }
                for i in range(1, count + 1)
            ],
        )
        if c.dialect.name == "postgresql":
            for table in ("market", "lot", "task"):
                c.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count * LOTS + 1})"
                )


def _engine_award(store, settings: Settings, ref: str) -> None:
    with Session(store.engine, expire_on_commit=False) as session:  # as the API and CLI open it
        fire(session, ref=ref, trigger="award", actor="f@bench.example.fr",
             data={"contractors": {n: SIRET for n in range(1, LOTS + 1)}}, settings=settings)  # fmt: skip
        session.commit()


def _bind(value, dialect: str):
    if dialect == "sqlite":
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return float(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


class RawAward:
    """The engine's rows for one market, replayed with plain SQL on another."""

    def __init__(self, store, template_market: int):
        self.dialect = store.engine.dialect.name
        self.mark = "?" if self.dialect == "sqlite" else "%s"
        with store.engine.connect() as c:
            self.tasks = [
                dict(r._mapping)
                for r in c.execute(
                    select(Task.__table__).where(
                        Task.market_id == template_market, Task.status == "open"
                    )
                )
            ]
            self.reminders = [dict(r._mapping) for r in c.execute(
                select(Reminder.__table__).where(Reminder.market_id == template_market,
                                                 Reminder.status == "pending"))]  # fmt: skip
        self.task_columns = [k for k in self.tasks[0] if k != "id"]
        self.reminder_columns = [k for k in self.reminders[0] if k != "id"]
        self.template_market = template_market

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def run(self, store, market_id: int, now: datetime) -> None:
        b, d = _bind, self.dialect
        connection = store.engine.raw_connection()
        try:
            cur = connection.cursor()
            cur.execute(
                self._sql(
                    "UPDATE market SET state = ?, version = version + 1, updated_at = ? "
                    "WHERE id = ? AND version = ?"
                ),
                ("execution", b(now, d), market_id, 1),
            )
            cur.executemany(
                self._sql("UPDATE lot SET contractor_id = ? WHERE market_id = ? AND number = ?"),
                [(1, market_id, n) for n in range(1, LOTS + 1)],
            )
            cur.execute(
                self._sql(
                    "UPDATE task SET status = ?, closed_at = ?, closed_by = ?, cancel_reason = ? "
                    "WHERE id = ?"
                ),
                ("cancelled", b(now, d), "f@bench.example.fr", "award", market_id),
            )
            cur.execute(
                self._sql(
                    "UPDATE reminder SET status = ?, cancel_reason = ? WHERE status = ? "
                    "AND message_id IS NULL AND task_id IN (?)"
                ),
                ("cancelled", "award", "pending", market_id),
            )
            payload = "?::json" if d == "postgresql" else "?"
            cur.execute(
                self._sql(
                    "INSERT INTO transition_log (market_id, from_state, to_state, trigger, actor, "
                    f"at, payload) VALUES (?, ?, ?, ?, ?, ?, {payload})"
                ),
                (
                    market_id,
                    "consultation",
                    "execution",
                    "award",
                    "f@bench.example.fr",
                    b(now, d),
                    json.dumps({"contractors": {"1": SIRET, "2": SIRET}}),
                ),
            )
            task_ids = {}
            marks = ", ".join("?" for _ in self.task_columns)
            for task in self.tasks:
                cur.execute(
                    self._sql(
                        f"INSERT INTO task ({', '.join(self.task_columns)}) VALUES ({marks}) "
                        "RETURNING id"
                    ),
                    [b(market_id if k == "market_id" else task[k], d) for k in self.task_columns],
                )
                task_ids[task["id"]] = cur.fetchone()[0]
            lot_base = (market_id - self.template_market) * LOTS
            rows = []
            for index, reminder in enumerate(self.reminders):
                row = {
                    **reminder,
                    "market_id": market_id,
                    "task_id": task_ids.get(reminder["task_id"]),
                    "lot_id": reminder["lot_id"] + lot_base if reminder["lot_id"] else None,
                    "idempotency_key": f"raw:{market_id}:{index}",
                }
                rows.append([b(row[k], d) for k in self.reminder_columns])
            marks = ", ".join("?" for _ in self.reminder_columns)
            cur.executemany(
                self._sql(
                    f"INSERT INTO reminder ({', '.join(self.reminder_columns)}) VALUES ({marks})"
                ),
                rows,
            )
            connection.commit()
        finally:
            connection.close()


def run(kind: str, *, count: int, profile: bool) -> list[dict]:
    settings = Settings()
    now = datetime.now(UTC)
    warm = 5
    with fresh_store(kind) as store:
        _setup(store, warm + 2 * count, now)
        for i in range(1, warm + 1):
            _engine_award(store, settings, f"BENCH-{i:06d}")
        if store.engine.dialect.name == "postgresql":
            # Statistics as autovacuum keeps them on a live database. On never-analysed tables
            # the generic plan that psycopg's prepared statements settle on after five runs
            # depends on the statement's text: the engine's reminder-cancelling UPDATE took the
            # (status, due_at) index and filtered every pending reminder, a cost growing with the
            # table, while the raw side's text happened to get the task_id index.
            with store.engine.begin() as c:
                c.exec_driver_sql("ANALYZE")
        raw = RawAward(store, template_market=1)
        engine_times, raw_times = [], []
        profiler = cProfile.Profile() if profile else None
        for i in range(count):
            engine_ref = f"BENCH-{warm + 1 + 2 * i:06d}"
            if profiler:
                profiler.enable()
            engine_times.append(timed(lambda ref=engine_ref: _engine_award(store, settings, ref)))
            if profiler:
                profiler.disable()
            raw_times.append(timed(lambda m=warm + 2 + 2 * i: raw.run(store, m, now)))
        rows = [summary("raw SQL (DBAPI)", raw_times), summary("engine.fire award", engine_times)]
        show(f"[{kind}] award: {len(raw.tasks)} tasks + {len(raw.reminders)} reminders per "
             "transaction", rows, baseline="raw SQL (DBAPI)")  # fmt: skip
        if profiler:
            pstats.Stats(profiler).sort_stats(
                os.environ.get("BENCH_SORT", "cumulative")
            ).print_stats(os.environ.get("BENCH_FILTER", ""), 30)
    return rows
