"""A session on the store for each request, and the row numbers an address may carry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from clausier.db.engine import writer

READING = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Opening one does no I/O, so it is made on the event loop (a
    thread hop less per request); closing it gives the connection back, in the threadpool. A
    request that may write is a writer (``db.engine.writer``): on SQLite, concurrent writes take
    turns instead of failing or losing one another. One that never reached the store is closed
    on the event loop too."""
    engine = request.app.state.engine
    if request.method not in READING:
        engine = writer(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():  # it holds a connection: giving it back is I/O
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
RowId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Numéro")]
