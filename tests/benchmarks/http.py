"""The buyer's status lookup and the facilitator's task queue over HTTP, on a national data set.

A data set from ``clausier demo-data``'s generator, the API served by a real uvicorn on
127.0.0.1 in a thread, one keep-alive httpx client. Timed, interleaved: ``GET /api/markets/{ref}``
for random markets of the buyer with the most markets, ``GET /api/tasks?structure=…`` (default
page) for the structure with the most open tasks, and, as the raw baseline, the SELECTs each
request ran (captured once per ref with ``before_cursor_execute``) replayed by the DBAPI cursor.
Each captured statement's plan is printed; a full scan of a large table is flagged.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

import httpx
import uvicorn
from sqlalchemy import event, func, select

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import Settings
from clausier.demo.national import generate
from clausier.markets.models import Market
from clausier.partners.models import Buyer, Structure
from clausier.tasks.models import Task
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.stores import national_store
from tests.smtp import free_port

LARGE = ("market", "lot", "task", "reminder", "declaration_line", "transition_log")
Statements = list[tuple[str, object]]


@contextmanager
def serving(engine, settings: Settings):
    port = free_port()
    config = uvicorn.Config(create_app(engine, settings), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def capturing(engine):
    """The statements the store receives meanwhile (what one request runs)."""
    seen: Statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def selects(statements: Statements) -> Statements:
    return [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]


def replay(engine, statements: Statements) -> None:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        connection.rollback()
    finally:
        connection.close()


def plans(engine, statements: Statements) -> list[tuple[str, str, list[str]]]:
    """(statement, plan, full scans of large tables) for each distinct statement."""
    out, done = [], set()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            if statement in done:
                continue
            done.add(statement)
            if engine.dialect.name == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                lines = [str(row[-1]) for row in cursor.fetchall()]
                scans = [t for line in lines if (m := re.match(r"SCAN (\w+)", line))
                         and (t := m.group(1)) in LARGE and "INDEX" not in line]  # fmt: skip
            else:
                cursor.execute(f"EXPLAIN {statement}", parameters)
                lines = [row[0] for row in cursor.fetchall()]
                found = (re.search(r"Seq Scan on (\w+)", line) for line in lines)
                scans = [m.group(1) for m in found if m and m.group(1) in LARGE]
            out.append((statement, "\n      ".join(lines), scans))
        connection.rollback()
    finally:
        connection.close()
    return out


def _subjects(store) -> tuple[str, list[str], str]:
    """The buyer with the most markets (and their refs), the structure with most open tasks."""
    with store.session() as session:
        buyer_id, _ = session.execute(
            select(Market.buyer_id, func.count()).group_by(Market.buyer_id)
            .order_by(func.count().desc()).limit(1)
        ).one()  # fmt: skip
        buyer = session.get(Buyer, buyer_id)
        refs = list(
            session.execute(select(Market.ref).where(Market.buyer_id == buyer_id)).scalars()
        )
        structure_id, open_tasks = session.execute(
            select(Task.structure_id, func.count())
            .where(Task.status == "open", Task.structure_id.is_not(None))
            .group_by(Task.structure_id).order_by(func.count().desc()).limit(1)
        ).one()  # fmt: skip
        structure = session.get(Structure, structure_id)
        print(f"  buyer {buyer.name!r}: {len(refs)} markets; structure {structure.name!r}: "
              f"{open_tasks} open tasks")  # fmt: skip
        return buyer.name, refs, structure.name


def _issue(store, role: Role, org: str) -> str:
    with store.session() as session:
        token = tokens.create(session, role=role, org=org, expires_at=None, now=clock.now())[0]
        session.commit()
    return token


def run(
    kind: str, *, markets: int, count: int = 500, warm: int = 50, seed: int = 8,
    database: str | None = None,
) -> list[dict]:  # fmt: skip
    settings = Settings()

    def fill(engine) -> None:
        start = time.perf_counter()
        counts = generate(engine, markets=markets, seed=seed, settings=settings)
        print(f"[{kind}] {markets:,} markets generated in {time.perf_counter() - start:.0f} s: "
              + ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items())))  # fmt: skip

    with national_store(kind, database, fill) as store:
        kind = store.kind
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")  # as autovacuum (or PRAGMA optimize) keeps it
            total = connection.execute(select(func.count()).select_from(Market)).scalar()
        print(f"[{kind}] {total:,} markets")
        buyer, refs, structure = _subjects(store)
        rng = random.Random(seed)
        chosen = [rng.choice(refs) for _ in range(count)]
        headers = {
            "buyer": {"Authorization": f"Bearer {_issue(store, Role.buyer, buyer)}"},
            "facilitator": {
                "Authorization": f"Bearer {_issue(store, Role.facilitator, structure)}"
            },
        }
        with serving(store.engine, settings) as url, httpx.Client(base_url=url) as client:

            def get(path: str, role: str, params: dict | None = None) -> Callable[[], None]:
                def action() -> None:
                    response = client.get(path, headers=headers[role], params=params)
                    assert response.status_code == 200, (path, response.status_code, response.text)

                return action

            queue = get("/api/tasks", "facilitator", {"structure": structure})
            captured: dict[str, Statements] = {}
            for ref in dict.fromkeys(chosen):  # warm-up: every chosen ref once, its SQL captured
                with capturing(store.engine) as seen:
                    get(f"/api/markets/{ref}", "buyer")()
                captured[ref] = selects(seen)
            with capturing(store.engine) as seen:
                queue()
            queue_sql = selects(seen)
            for _ in range(warm):
                queue()
            names = ("status raw", "status http", "queue raw", "queue http")
            times: dict[str, list[float]] = {name: [] for name in names}
            for ref in chosen:
                times["status http"].append(timed(get(f"/api/markets/{ref}", "buyer")))
                times["status raw"].append(timed(lambda r=ref: replay(store.engine, captured[r])))
                times["queue http"].append(timed(queue))
                times["queue raw"].append(timed(lambda: replay(store.engine, queue_sql)))
        example = captured[chosen[0]]
        rows = [summary(f"SELECTs by DBAPI ({len(example)})", times["status raw"]),
                summary("GET /api/markets/{ref}", times["status http"])]  # fmt: skip
        show(f"[{kind}] buyer's status lookup, {total:,} markets", rows, baseline=rows[0]["name"])
        queue_rows = [summary(f"SELECTs by DBAPI ({len(queue_sql)})", times["queue raw"]),
                      summary("GET /api/tasks?structure=…", times["queue http"])]  # fmt: skip
        show(f"[{kind}] facilitator's queue", queue_rows, baseline=queue_rows[0]["name"])
        flagged = []
        for name, statements in (("status", example), ("queue", queue_sql)):
            print(f"\n[{kind}] plans of the {name} request's SELECTs:")
            for statement, plan, scans in plans(store.engine, statements):
                mark = f"  FULL SCAN {', '.join(scans)}" if scans else ""
                print(f"  - {' '.join(statement.split())[:160]}{mark}\n      {plan}")
                flagged += scans
        print(f"\n[{kind}] full scans of large tables: {sorted(set(flagged)) or 'none'}")
    return rows + queue_rows
