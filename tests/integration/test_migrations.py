"""From an empty database to the latest schema, and the schema the code expects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

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
