"""Statements narrowed by a caller's reach, built once per reach.

A statement built per request costs its construction and a new cache key each time, which on
the status lookup weighed more than running it. ``auth.scope`` builds each caller's conditions
once (per role and organisation), so the same condition object comes back on every request of
that caller, and the statement narrowed by it is kept here, keyed by the condition's identity
(a SQL expression overloads ``==``: it cannot be a dictionary key by value).
"""

from __future__ import annotations

from threading import Lock

from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.selectable import Select

_LIMIT = 4096  # callers × statements; beyond, the memo starts again (a statement is rebuilt)
_memo: dict[tuple[int, int], tuple[Select, ClauseElement, Select]] = {}
_lock = Lock()


def narrowed(base: Select, condition: ClauseElement | None) -> Select:
    """``base.where(condition)``, the same object for the same two objects. The entry holds both,
    so neither identity can be reused by another object while it is kept."""
    if condition is None:
        return base
    key = (id(base), id(condition))
    entry = _memo.get(key)
    if entry is not None and entry[0] is base and entry[1] is condition:
        return entry[2]
    statement = base.where(condition)
    with _lock:
        if len(_memo) >= _LIMIT:
            _memo.clear()
        _memo[key] = (base, condition, statement)
    return statement
