"""Engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError, SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool
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


def reader(engine: Engine) -> Engine:
    """The engine for a unit of work that only reads. On PostgreSQL its statements run in
    autocommit, each on its own snapshot, as READ COMMITTED gives each statement anyway: that
    spares the BEGIN and the ROLLBACK around them, two of a kept status lookup's four round
    trips (docs/performance.md, throughput). SQLite opens no transaction for a read."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def loop_reader(engine: Engine) -> Engine | None:
    """An engine for a read of a row or two on the event loop itself, without a thread hop; on
    SQLite only. Sixteen kept status lookups at once, each in the threadpool, took turns on the
    GIL with the event loop: on the loop, they answer 2.5 times as many (docs/performance.md,
    throughput). A local file answers in microseconds; one connection per thread (the loop's),
    and a file found locked fails at once (busy timeout 0) rather than stall every request: the
    caller then reads in the threadpool, which waits. None on PostgreSQL: a read waits for the
    server there."""
    if engine.dialect.name != "sqlite":
        return None
    loop = create_engine(
        engine.url,
        poolclass=SingletonThreadPool,
        hide_parameters=True,
        connect_args={"timeout": 0, "check_same_thread": False},
    )
    _configure_sqlite(loop, 0)
    return loop


def async_loop_reader(engine: Engine, pool_size: int) -> AsyncEngine | None:
    """On PostgreSQL, an async engine (psycopg's async connections) for the reads of a kept
    status lookup on the event loop: the loop serves other requests while the server answers,
    and no thread hop is paid (docs/performance.md, throughput). Its pool, in autocommit,
    belongs to the loop that made it (``clausier.app``: made at start-up, disposed at shutdown), and
    is as large as the other: with 4 connections for 16 concurrent lookups, some waited their
    turn ten times as long (p99 360 ms against 37 ms with 16). None on SQLite (``loop_reader``)."""
    if engine.dialect.name != "postgresql":
        return None
    reads = create_async_engine(
        engine.url.render_as_string(hide_password=False),
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
    )
    _ping_when_idle(reads.sync_engine)
    return reads


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
    engine = create_engine(
        url, echo=db.echo, hide_parameters=True, pool_size=db.pool_size, max_overflow=0
    )  # at most pool_size connections, each kept: none opened and closed per request
    _ping_when_idle(engine)
    return engine


IDLE_BEFORE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """A pooled connection idle for a second or more is pinged before it is handed out, and
    replaced if dead (a server restarted, a backend terminated): what ``pool_pre_ping`` does on
    every checkout, which cost one round trip per request, 15 % of the status lookups a server
    answers under load (docs/performance.md, throughput). One busy enough to come back within
    the second has just worked; if it died meanwhile, the failing statement invalidates it and
    every connection opened before (SQLAlchemy's disconnect handling), so the next request gets
    a fresh one."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING_SECONDS:
            return  # new, or back within the second
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:  # the pool discards it and checks out another (up to three times)
            raise DisconnectionError()


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
