"""The daily planner (``sweep.plan``) on a national data set: the one job whose work grows with
the number of live markets (coverage re-checked for each, pace for each market in execution).

Timed over repeated runs on the generated set (the generator writes what the planner would, so
every run is the steady state of a day: nothing new to write); the raw baseline is the statements
one run sent, replayed by the DBAPI cursor (SELECTs only, as the writes find nothing to do).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from clausier.config import get_settings
from clausier.demo.national import generate
from clausier.markets.models import Market
from notifications import sweep
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.http import capturing, replay, selects
from tests.benchmarks.stores import national_store

NOW = datetime(2026, 11, 25, 7, tzinfo=UTC)  # 8:00 in Paris, when the planner runs


def run(
    kind: str, *, markets: int, repeats: int = 3, seed: int = 8, database: str | None = None
) -> list[dict]:
    settings = get_settings()

    def fill(engine) -> None:
        generate(engine, markets=markets, seed=seed, settings=settings, now=NOW)

    with national_store(kind, database, fill) as store:
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
