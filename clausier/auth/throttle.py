"""Limits on signing in, counted in the database so that every process of an installation shares
them: each count is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) in fixed
windows of time; a window's row is pruned once it has ended."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from clausier.auth.models import SignInCounter
from clausier.auth.tokens import digest
from clausier.config import SignInSettings
from clausier.errors import TooManyAttempts

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
PRUNED_AT_ONCE = 1000
_TABLE = SignInCounter.__table__


@dataclass(frozen=True)
class Limit:
    """So many hits of one kind per subject (an address, a client) in each window."""

    kind: str
    per_window: int
    window: timedelta


@dataclass(frozen=True)
class Count:
    key: str
    hits: int
    ends_at: datetime
    limit: Limit

    @property
    def over(self) -> bool:
        return self.hits > self.limit.per_window

    def refusal(self, now: datetime) -> TooManyAttempts:
        return TooManyAttempts(minutes=max(1, math.ceil((self.ends_at - now) / MINUTE)))


def links_per_address(settings: SignInSettings) -> Limit:
    return Limit("link_address", settings.links_per_address_per_hour, HOUR)


def links_per_client(settings: SignInSettings) -> Limit:
    return Limit("link_client", settings.links_per_client_per_hour, HOUR)


def attempts_per_client(settings: SignInSettings) -> Limit:
    return Limit("attempt_client", settings.attempts_per_client_per_minute, MINUTE)


def count(engine: Engine, limit: Limit, subject: str, *, now: datetime) -> Count:
    """One more hit for ``subject``, committed at once whatever becomes of the request. Called
    with no write of the request's session pending (SQLite has one writer at a time)."""
    seconds = int(limit.window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    ends_at = datetime.fromtimestamp(start + seconds, UTC)
    key = f"{limit.kind}:{seconds}:{start}:{digest(subject)}"
    with engine.begin() as connection:
        hits = connection.execute(_upsert(connection, key, ends_at)).scalar_one()
        if hits == 1:  # a new window: the ended ones go
            _prune(connection, now)
    return Count(key=key, hits=hits, ends_at=ends_at, limit=limit)


def give_back(engine: Engine, spent: Count) -> None:
    """A right token or link is not a guess: its hit is given back."""
    with engine.begin() as connection:
        connection.execute(
            update(_TABLE)
            .where(_TABLE.c.window_key == spent.key, _TABLE.c.hits > 0)
            .values(hits=_TABLE.c.hits - 1)
        )


def _upsert(connection: Connection, key: str, ends_at: datetime):
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(_TABLE).values(window_key=key, hits=1, expires_at=ends_at)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.window_key], set_={"hits": _TABLE.c.hits + 1}
    ).returning(_TABLE.c.hits)


def _prune(connection: Connection, now: datetime) -> None:
    """Ended windows, a batch at a time; on PostgreSQL the rows another process is pruning are
    skipped rather than waited for."""
    ended = select(_TABLE.c.window_key).where(_TABLE.c.expires_at <= now).limit(PRUNED_AT_ONCE)
    if connection.dialect.name == "postgresql":
        ended = ended.with_for_update(skip_locked=True)
    connection.execute(delete(_TABLE).where(_TABLE.c.window_key.in_(ended)))
