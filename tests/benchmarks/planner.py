"""The daily planner (``sweep.plan``) on a national data set: the one job whose work grows with
the number of live markets (coverage re-checked for each, pace for each market in execution).

Timed over repeated runs on the generated set (the generator writes what the planner would, so
every run is the steady state of a day: nothing new to write); the raw baseline is the statements
one run sent, replayed by the DBAPI cursor (SELECTs only, as the writes find nothing to do).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select

from clausier.config import get_settings
from clausier.demo.national import generate
from clausier.markets.models import Market
from notifications import sweep
from tests import stores
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.http import capturing, replay, selects
from tests.benchmarks.stores import fresh_store
from tests.stores import Store

NOW = datetime(2026, 11, 25, 7, tzinfo=UTC)  # 8:00 in Paris, when the planner runs


@contextmanager
def national_store(kind: str, markets: int, seed: int, database: str | None) -> Iterator[Store]:
    """A fresh store filled by the generator, or the database given (filled by ``clausier
    demo-data`` beforehand, to measure 100,000 markets without generating them each run)."""
    if database:
        engine = stores.engine_for(database)
        try:
            yield Store(engine.dialect.name, database, engine)
        finally:
            engine.dispose()
        return
    with fresh_store(kind) as store:
        generate(store.engine, markets=markets, seed=seed, settings=get_settings(), now=NOW)
        yield store


def run(
    kind: str, *, markets: int, repeats: int = 3, seed: int = 8, database: str | None = None
) -> list[dict]:
    settings = get_settings()
    with national_store(kind, markets, seed, database) as store:
        kind = store.kind
        with store.engine.connect() as connection:
            markets = connection.execute(select(func.count()).select_from(Market)).scalar()
            live = connection.execute(
                select(func.count()).select_from(Market).where(Market.state.not_in(
                    ("closed", "not_clausable", "abandoned")))
            ).scalar()  # fmt: skip
        with capturing(store.engine) as statements:
            created = sweep.plan(store.engine, settings, NOW)
        reads = selects(statements)
        print(f"\n{kind}: {markets} markets, {live} live; one run sends {len(statements)} "
              f"statements ({len(reads)} SELECTs, {len(statements) / max(live, 1):.1f} per live "
              f"market), creates {created} reminders")  # fmt: skip
        engine_times, raw_times = [], []
        for _ in range(repeats):
            engine_times.append(timed(lambda: sweep.plan(store.engine, settings, NOW)))
            raw_times.append(timed(lambda: replay(store.engine, reads)))
        rows = [summary("raw SELECTs replayed", raw_times), summary("sweep.plan", engine_times)]
        show(f"Daily planner, {kind}, {markets} markets", rows, baseline="raw SELECTs replayed")
        return rows
