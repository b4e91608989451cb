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
    """One unit of work: committed if the block ends normally, rolled back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
