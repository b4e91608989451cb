"""The daily planner at national size: more reminders than one SQL statement can carry."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event, func, insert, select

from clausier.markets.models import Market
from notifications import sweep
from notifications.models import Reminder
from tests import factories as make
from tests.integration.test_reminder_workers import MORNING
from tests.integration.test_reminders import settings_for

UNCOVERED = 3000  # x 12 values a reminder row: past SQLite's 32,766 values in one statement


def strict_sqlite(store) -> None:
    """SQLite's default cap on a statement's values (Debian builds allow 250,000): the one
    production may have."""
    if store.kind != "sqlite":
        return

    def cap(connection, _record) -> None:
        connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)

    store.engine.dispose()
    event.listen(store.engine, "connect", cap)


def test_thousands_of_uncovered_markets_are_each_reminded_once(store, smtp_server, clock):
    clock.move_to(MORNING)
    with store.session() as session:
        first = make.market(session, buyer=make.buyer(session), in_commune=make.SAINT_LO,
                            state="execution")  # fmt: skip
        session.commit()
        row = {c.name: getattr(first, c.name) for c in Market.__table__.columns if c.name != "id"}
        session.execute(
            insert(Market.__table__),
            [{**row, "ref": f"{first.ref}-{n}"} for n in range(1, UNCOVERED)],
        )
        session.commit()
    settings = settings_for(smtp_server)
    strict_sqlite(store)

    assert sweep.plan(store.engine, settings, MORNING) == UNCOVERED
    assert sweep.plan(store.engine, settings, MORNING) == 0, "planned once"
    with store.session() as session:
        reminded = session.execute(
            select(func.count(func.distinct(Reminder.market_id))).where(
                Reminder.rule == "market_uncovered"
            )
        ).scalar_one()
    assert reminded == UNCOVERED
