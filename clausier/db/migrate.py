"""Create or upgrade a database to the latest schema (``clausier init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from clausier.db import changes
from clausier.db.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; return the revisions before and after."""
    before = current_revision(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(engine, connection), revision)
        at = MigrationContext.configure(connection).get_current_revision()
        if at == head_revision():  # every table watched, whatever the migrations copied
            changes.install(connection, metadata)
    return before, at


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(engine, connection), revision)
