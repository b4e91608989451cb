"""What every endpoint gets: a session on the store, the caller, the settings, pagination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlmodel import Session

from clausier import clock
from clausier.auth.tokens import Principal, authenticate
from clausier.config import Settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
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


def get_page(
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
