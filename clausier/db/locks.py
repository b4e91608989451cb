"""Row locks for a unit of work that reads rows to decide what it writes.

On PostgreSQL (read committed) two requests may read the same row, both decide, and the second
write undo the first: ``locked`` makes the second wait for the first to commit, then read what
it left. The lock is ``FOR NO KEY UPDATE``: rows that only refer to the locked one (a line to
its lot, a task to its market) may still be inserted meanwhile, so that no two writers wait for
each other. On SQLite the statement takes no lock: a writer's transaction holds the database's
write lock from its start (``clausier.db.engine.writer``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select


def locked(session: Session, model, ids: Iterable[int]) -> dict[int, object]:
    """The rows of ``model`` with these ids, locked until the transaction ends and read afresh
    (the session's copies are refreshed), in id order, as every writer takes them."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(
        select(model)
        .where(model.id.in_(wanted))
        .order_by(model.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}
