"""From an empty database to the latest schema, and the schema the code expects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import select

from clausier.db import migrate
from clausier.db.tables import metadata
from tests import stores


def _differences(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrations_from_empty_reach_the_models_on_sqlite(tmp_path):
    engine = stores.engine_for(f"sqlite:///{tmp_path / 'empty.db'}")
    before, after = migrate.upgrade(engine)
    assert (before, after) == (None, migrate.head_revision())
    assert _differences(engine) == []
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT name FROM commune WHERE code = '50129'")).scalar()
            == "Cherbourg-en-Cotentin"
        )
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert migrate.upgrade(engine) == (after, after), "a second init changes nothing"
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == after


def test_migrations_from_empty_reach_the_models_on_postgresql(postgres_schema):
    assert migrate.current_revision(postgres_schema.engine) == migrate.head_revision()
    assert _differences(postgres_schema.engine) == []
    with postgres_schema.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM commune")).scalar() == 35014


def test_migration_0014_puts_the_former_outcomes_in_the_iae_words(store, clock):
    """Going back to 0013 and up again: the former codes (a job of six months or more, a
    qualifying training, a business creation) become the IAE's, ``other`` and ``unknown`` stay."""
    from clausier.beneficiaries.models import Outcome
    from tests import factories as make

    with store.session() as session:
        buyer, mde = make.buyer(session), make.structure(session, "mde-cotentin")
        market = make.market(session, buyer=buyer, state="evaluation")
        people = [make.beneficiary(session, mde) for _ in range(5)]
        for person in people:
            session.add(Outcome(market_id=market.id, beneficiary_id=person.id,
                                outcome="other", recorded_by="f0"))  # fmt: skip
        session.commit()
        ids = [person.id for person in people]
    migrate.downgrade(store.engine, "0013_lot_cpv")
    former = ["job_6_months", "qualifying_training", "business_creation", "other", "unknown"]
    with store.engine.begin() as connection:
        for person_id, code in zip(ids, former, strict=True):
            connection.execute(
                text("UPDATE outcome SET outcome = :code WHERE beneficiary_id = :id"),
                {"code": code, "id": person_id},
            )
    migrate.upgrade(store.engine)
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    with store.engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT beneficiary_id, outcome FROM outcome")).all())
        reasons = connection.execute(text("SELECT early_reason FROM outcome")).scalars().all()
    assert [rows[person_id] for person_id in ids] == [
        "durable_employment", "positive_exit", "durable_employment", "other", "unknown"]  # fmt: skip
    assert reasons == [None] * 5


def test_going_below_0013_keeps_the_rows_that_name_a_lot(store, clock):
    """Dropping ``lot.cpv`` copied the table on SQLite, and the copy's cascade deleted every
    statement of every lot: going back a version must lose no month declared."""
    from clausier import clock as product_clock
    from clausier.declarations.models import Statement
    from clausier.markets.models import Lot
    from tests import factories as make

    with store.session() as session:
        market = make.market(session, buyer=make.buyer(session), state="execution")
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).first()
        session.add(Statement(lot_id=lot.id, period="2026-10", declared_by="contractor",
                              declared_at=product_clock.now()))  # fmt: skip
        session.commit()
    migrate.downgrade(store.engine, "0012_org_active")
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM statement")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM lot")).scalar() >= 1
    migrate.upgrade(store.engine)
    assert _differences(store.engine) == []
