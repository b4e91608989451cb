"""What every endpoint gets: a session on the store, the caller, the settings, pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from clausier import clock
from clausier.auth.tokens import Principal, authenticate
from clausier.config import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Opening one does no I/O, so it is made on the event loop (a
    thread hop less per request); closing it gives the connection back, in the threadpool."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


async def get_settings_dep(request: Request) -> Settings:
    """Async, as ``get_page``: no I/O, so no thread hop."""
    return request.app.state.settings


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return authenticate(
        session, token.strip() if scheme.lower() == "bearer" else None, now=clock.now()
    )


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def wrap(self, items: list, total: int) -> dict:
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


async def get_page(
    limit: Annotated[int, Query(ge=1, le=200, description="Nombre d'éléments par page")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=2_147_483_647, description="Rang du premier élément")
    ] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PageDep = Annotated[Page, Depends(get_page)]

RowId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Numéro")]
