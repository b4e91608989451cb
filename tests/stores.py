"""Real stores for the tests: a SQLite file per test, a PostgreSQL schema per run.

The PostgreSQL server is the machine's (127.0.0.1:5432, trust auth, database ``test``) unless
``CLAUSIER_TEST_POSTGRES_URL`` says otherwise. Each run works in a schema of its own, dropped
at the end; tests that need it are skipped, with the reason, only when no server answers (and
fail instead when ``CLAUSIER_REQUIRE_POSTGRES=1``, as in CI).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from clausier.config import DatabaseSettings, Settings
from clausier.db import migrate
from clausier.db.engine import make_engine

REQUIRE_POSTGRES = os.environ.get("CLAUSIER_REQUIRE_POSTGRES") == "1"  # CI: no skip

POSTGRES_URL = os.environ.get(
    "CLAUSIER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REFERENCE_TABLES = ("region", "departement", "epci", "commune", "alembic_version")
CHANGE_MARKS = "market_change"  # written by triggers on the others (clausier.db.changes)


@dataclass
class Store:
    kind: str
    url: str
    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def engine_for(url: str) -> Engine:
    return make_engine(Settings(database=DatabaseSettings(url=url)))


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    engine = engine_for(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def sqlite_store(template: Path, directory: Path) -> Store:
    path = directory / "clausier.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    return Store("sqlite", url, engine_for(url))


def postgres_unreachable_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
        return None
    except Exception as exc:  # any failure to reach the server means: skip
        safe = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        return f"PostgreSQL injoignable à {safe} ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"


class PostgresSchema:
    """A schema for this run, migrated once; tables emptied between tests."""

    def __init__(self) -> None:
        self.name = f"clausier_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        admin.dispose()
        # a commit need not wait for the disk here: a test's data dies with its run
        options = f"-csearch_path={self.name} -csynchronous_commit=off"
        url = make_url(POSTGRES_URL).update_query_dict({"options": options})
        self.url = url.render_as_string(hide_password=False)
        self.engine = engine_for(self.url)
        migrate.upgrade(self.engine)
        with self.engine.connect() as connection:
            names = connection.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": self.name}
            ).scalars()
            self.app_tables = sorted(set(names) - set(REFERENCE_TABLES))
            sequences = connection.execute(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"),
                {"s": self.name},
            ).scalars()
            reset = [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
        metadata = sa.MetaData()
        metadata.reflect(self.engine, only=self.app_tables)
        # a DELETE of a test's few rows takes milliseconds where a TRUNCATE of every table takes a
        # tenth of a second (new files, synced); dependents first, so no foreign key objects, and
        # the market change marks the deletions write last
        kept = set(self.app_tables) - {CHANGE_MARKS}  # reflecting brings the referential too
        order = [t.name for t in reversed(metadata.sorted_tables) if t.name in kept]
        order += [CHANGE_MARKS] if CHANGE_MARKS in self.app_tables else []
        self._emptying = "; ".join([f'DELETE FROM "{t}"' for t in order] + reset)

    def store(self) -> Store:
        return Store("postgresql", self.url, self.engine)

    def empty(self) -> None:
        """Every row of the application's tables gone, their ids starting again at 1."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self._emptying)

    def drop(self) -> None:
        self.engine.dispose()
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        admin.dispose()


def env_url(url: str) -> str:
    """The URL as a shell environment value (CLI tests)."""
    return url.replace(" ", quote(" "))
