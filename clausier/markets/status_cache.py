"""Kept status documents: the buyers' most frequent read, built once and served again.

A market's status lookup is about 10 kB built from eight statements and the engine's guards;
read again, it is the same bytes as long as nothing it shows has changed. A kept document is
served while

- its market's fingerprint is the one it was built with: every write to what a status reads
  moves it, by triggers in the database (``db.changes``), whoever wrote, in this process or
  another;
- time has not moved it: it is kept per day, and until its horizon
  (``status.market_overview_until``: a task falling overdue, a reminder falling due);
- for the same reach: per role and organisation, as ``auth.scope`` narrows and redacts.

The fingerprint is read in the statement that finds the market within the caller's reach, before
anything else is read: a document built while a write commits is kept under the fingerprint of
before it, so the next lookup, which reads the new one, builds it again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from cachetools import LRUCache
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Session, select

from clausier.db import changes
from clausier.db.statements import narrowed
from clausier.errors import UnknownRecord
from clausier.markets.models import Market

Fingerprint = tuple[int, int]

_IN_REACH = select(Market.id, *changes.fingerprint(Market.id)).where(Market.ref == bindparam("ref"))


def market_in_reach(session: Session, reach, ref: str) -> tuple[int, Fingerprint]:
    """The market's id and fingerprint, found within ``reach`` (``auth.scope.market_condition``):
    one out of reach is not found, as one that does not exist (as ``visible_market``)."""
    row = session.connection().execute(narrowed(_IN_REACH, reach), {"ref": ref}).first()
    return _found(row, ref)


async def market_in_reach_async(
    connection: AsyncConnection, reach, ref: str
) -> tuple[int, Fingerprint]:
    """``market_in_reach`` on an async connection (on the event loop, PostgreSQL)."""
    row = (await connection.execute(narrowed(_IN_REACH, reach), {"ref": ref})).first()
    return _found(row, ref)


def _found(row, ref: str) -> tuple[int, Fingerprint]:
    if row is None:
        raise UnknownRecord("Marché", ref)
    return row.id, (row.changes, int(row.change_sum))


@dataclass(frozen=True)
class _Kept:
    fingerprint: Fingerprint
    stale_at: datetime | None
    body: bytes


class StatusCache:
    """The last ``size`` documents served (least recently served dropped first); ``size`` 0
    keeps none. Shared by the server's threads."""

    def __init__(self, size: int) -> None:
        self._kept: LRUCache | None = LRUCache(maxsize=size) if size > 0 else None
        self._lock = Lock()

    def serve(
        self,
        key: Hashable,
        fingerprint: Fingerprint,
        now: datetime,
        build: Callable[[], tuple[bytes, datetime | None]],
    ) -> bytes:
        """The kept body for ``key`` if still good at ``now``, else ``build()``'s, kept."""
        body = self.get(key, fingerprint, now)
        if body is not None:
            return body
        body, stale_at = build()
        if self._kept is not None:
            with self._lock:
                self._kept[key] = _Kept(fingerprint, stale_at, body)
        return body

    def get(self, key: Hashable, fingerprint: Fingerprint, now: datetime) -> bytes | None:
        """The kept body for ``key`` if still good at ``now``."""
        if self._kept is None:
            return None
        with self._lock:
            kept = self._kept.get(key)
        if (
            kept is not None
            and kept.fingerprint == fingerprint
            and (kept.stale_at is None or now < kept.stale_at)
        ):
            return kept.body
        return None

    @property
    def keeps(self) -> bool:
        return self._kept is not None

    def __len__(self) -> int:
        if self._kept is None:
            return 0
        with self._lock:
            return len(self._kept)
