"""Engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SAWarning
from sqlmodel import Session, create_engine

from clausier.config import Settings

# Amounts and hours are NUMERIC(…, 2): SQLite stores them as REAL, which is exact enough at
# cent precision; SQLAlchemy warns about it on every new statement otherwise.
warnings.filterwarnings(
    "ignore", message=r".*does \*not\* support Decimal objects natively", category=SAWarning
)


def _configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - exercised by every write
        # A deferred transaction reads first and takes the write lock at its first write: what
        # it read may have changed by then (a lost update), or the lock be refused at once
        # (« database is locked », whatever the busy timeout). A writer takes it at BEGIN,
        # waiting up to the busy timeout for the one before it to commit.
        if connection.get_execution_options().get(_WRITES):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_WRITES = "clausier_writes"


def writer(engine: Engine) -> Engine:
    """The engine for a unit of work that writes. On SQLite its transactions begin IMMEDIATE:
    writers take turns, each reading what the one before it committed. (PostgreSQL writers lock
    the rows they read to decide, with ``clausier.db.locks.locked``; on SQLite that is this.)"""
    return engine.execution_options(**{_WRITES: True})


def make_engine(settings: Settings) -> Engine:
    db = settings.database
    url = make_url(db.url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=db.echo,
            hide_parameters=True,  # values never reach logs nor error messages: personal data
            connect_args={"timeout": db.sqlite_busy_timeout_seconds, "check_same_thread": False},
        )
        _configure_sqlite(engine, db.sqlite_busy_timeout_seconds)
        return engine
    return create_engine(
        url, echo=db.echo, hide_parameters=True, pool_size=db.pool_size, pool_pre_ping=True
    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work (a writer, see ``writer``): committed if the block ends normally, rolled
    back otherwise."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
