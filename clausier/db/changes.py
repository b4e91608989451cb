"""Which markets changed, marked by the database itself.

A kept status document (``markets.status_cache``) is served as long as its market has not
changed. Every write to a table a market's status reads marks that market (a table shared by all
markets, as the conventions or the partners, marks market 0: every market), by triggers: no
write path can forget it, whoever writes (a request, a page, the CLI, the worker, another server)
and however (the ORM, a bulk statement, a cascade).

A market's *fingerprint* is the count and the sum of the ids of its marks and of market 0's.
Marks are only ever inserted, never updated, so that two writers never wait for one another on
a counter: on PostgreSQL a transaction marks each market once (``tx``), and a mark committed late
with a smaller id still moves the count. Marks a day old are pruned (``prune``, daily): a
deletion moves the count too, and ids are never reused (AUTOINCREMENT on SQLite), so a
fingerprint never comes back to an earlier value.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
    func,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel, select

EVERY_MARKET = 0
# 64 bits on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the rowid, which AUTOINCREMENT needs)
MARK_ID = BigInteger().with_variant(Integer(), "sqlite")
DAY_SECONDS = 86_400

# Tables no market's status reads: who is signed in, the outbox (a reminder records its own
# message), the marks themselves.
UNWATCHED = frozenset(
    {
        "alembic_version",
        "api_token",
        "login_link",
        "market_change",
        "outbox_message",
        "sign_in_counter",
        "web_session",
    }
)


class ChangeMark(SQLModel, table=True):
    __tablename__ = "market_change"
    __table_args__ = (
        UniqueConstraint("market_id", "tx"),
        Index("ix_market_change_market_id_id", "market_id", "id"),
        {"sqlite_autoincrement": True},  # an id is never given twice, even after a prune
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=MARK_ID)
    market_id: int  # EVERY_MARKET for a change to a table all markets share
    # PostgreSQL: the writing transaction (SQLite writers take turns)
    tx: int | None = Field(default=None, sa_type=BigInteger)
    at: int = Field(sa_type=BigInteger)  # seconds since the epoch, the database's clock


def market_of(table: Table) -> str:
    """How a write to ``table`` names its market: the market's own id, its ``market_id``, its
    lot's market, or every market."""
    if table.name == "market":
        return "id"
    if "market_id" in table.columns:
        return "market_id"
    if "lot_id" in table.columns:
        return "lot_id"
    return "every"


def watched(metadata: MetaData) -> dict[str, str]:
    """Each watched table, with how it names its market."""
    return {
        name: market_of(table)
        for name, table in sorted(metadata.tables.items())
        if name not in UNWATCHED
    }


_EVENTS = ("insert", "update", "delete")


def install(connection: Connection, metadata: MetaData) -> None:
    """Create (or re-create) the triggers of every watched table the database has. Idempotent:
    ``db.migrate`` runs it after each upgrade, so that a table a later migration adds is watched,
    and because a SQLite migration that copies a table (Alembic's batch mode) drops its
    triggers."""
    present = set(inspect(connection).get_table_names())
    tables = {name: kind for name, kind in watched(metadata).items() if name in present}
    if connection.dialect.name == "postgresql":
        _install_postgresql(connection, tables)
    else:
        _install_sqlite(connection, tables)


def uninstall(connection: Connection, metadata: MetaData) -> None:
    postgresql = connection.dialect.name == "postgresql"
    present = set(inspect(connection).get_table_names())
    for name in watched(metadata).keys() & present:
        for event in _EVENTS:
            on = f" ON {name}" if postgresql else ""
            connection.execute(text(f"DROP TRIGGER IF EXISTS mark_{name}_{event}{on}"))
    if postgresql:
        for kind in _PG_MARKET:
            connection.execute(text(f"DROP FUNCTION IF EXISTS clausier_mark_by_{kind}()"))


_SQLITE_MARKET = {
    "id": "{row}.id",
    "market_id": "coalesce({row}.market_id, 0)",
    "lot_id": "coalesce((SELECT market_id FROM lot WHERE lot.id = {row}.lot_id), 0)",
    "every": "0",
}


def _install_sqlite(connection: Connection, tables: dict[str, str]) -> None:
    for name, kind in tables.items():
        for event in _EVENTS:
            row = "OLD" if event == "delete" else "NEW"
            market = _SQLITE_MARKET[kind].format(row=row)
            connection.execute(text(f"DROP TRIGGER IF EXISTS mark_{name}_{event}"))
            connection.execute(
                text(
                    f"CREATE TRIGGER mark_{name}_{event} AFTER {event.upper()} ON {name} "
                    f"FOR EACH ROW BEGIN INSERT INTO market_change (market_id, at) VALUES "
                    f"({market}, CAST(strftime('%s', 'now') AS INTEGER)); END"
                )
            )


# PostgreSQL: one trigger per statement (not per row), reading the rows it wrote as ``changed``
_PG_MARKET = {
    "id": ("changed.id", ""),
    "market_id": ("coalesce(changed.market_id, 0)", ""),
    "lot_id": ("coalesce(lot.market_id, 0)", " LEFT JOIN lot ON lot.id = changed.lot_id"),
    "every": ("0", ""),
}


def _install_postgresql(connection: Connection, tables: dict[str, str]) -> None:
    for kind, (market, join) in _PG_MARKET.items():
        connection.execute(
            text(
                f"CREATE OR REPLACE FUNCTION clausier_mark_by_{kind}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO market_change (market_id, tx, at) "
                f"SELECT DISTINCT {market}, pg_current_xact_id()::text::bigint, "
                f"extract(epoch FROM now())::bigint FROM changed{join} "
                "ON CONFLICT (market_id, tx) DO NOTHING; RETURN NULL; END $$"
            )
        )
    for name, kind in tables.items():
        for event in _EVENTS:
            rows = "OLD" if event == "delete" else "NEW"
            connection.execute(
                text(
                    f"CREATE OR REPLACE TRIGGER mark_{name}_{event} AFTER {event.upper()} ON "
                    f"{name} REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE "
                    f"FUNCTION clausier_mark_by_{kind}()"
                )
            )


def triggered_tables(connection: Connection) -> set[str]:
    """The tables whose three triggers are in the database (checked by the tests)."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT event_object_table, trigger_name FROM information_schema.triggers "
                "WHERE trigger_schema = current_schema()"
            )
        )
    else:
        found = connection.execute(
            text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        )
    names: dict[str, set[str]] = {}
    for table, trigger in found:
        names.setdefault(table, set()).add(trigger)
    return {
        table
        for table, triggers in names.items()
        if {f"mark_{table}_{event}" for event in _EVENTS} <= triggers
    }


def fingerprint(market_id):
    """The two columns of a market's fingerprint, as scalar subqueries correlated with
    ``market_id`` (a column or a bound value): read in the statement that finds the market."""
    marks = ChangeMark.market_id.in_([market_id, EVERY_MARKET])
    return (
        select(func.count(ChangeMark.id)).where(marks).scalar_subquery().label("changes"),
        select(func.coalesce(func.sum(ChangeMark.id), 0))
        .where(marks)
        .scalar_subquery()
        .label("change_sum"),
    )


def prune(engine: Engine) -> int:
    """Remove the marks more than a day old (the database's clock); the number removed."""
    if engine.dialect.name == "postgresql":
        now = "extract(epoch FROM now())::bigint"
    else:
        now = "CAST(strftime('%s', 'now') AS INTEGER)"
    with engine.begin() as connection:
        removed = connection.execute(
            text(f"DELETE FROM market_change WHERE at < {now} - {DAY_SECONDS}")
        )
        return removed.rowcount
