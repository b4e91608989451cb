"""What every endpoint gets: a session on the store, the caller, the settings, pagination."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from clausier import clock
from clausier.auth.tokens import Principal, authenticate, authenticate_async
from clausier.config import Settings
from clausier.errors import DuplicateKey, LoneSurrogate
from clausier.http.session import RowId, get_session  # noqa: F401  (the routes' RowId)

T = TypeVar("T")


async def get_settings_dep(request: Request) -> Settings:
    """Async, as ``get_page``: no I/O, so no thread hop."""
    return request.app.state.settings


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def caller(request: Request, session: Session) -> Principal:
    """The caller, authenticated once per request, by whichever asks first (a write's body
    check, the route): the token is read from the store once."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = authenticate(session, bearer_token(request), now=clock.now())
        request.state.principal = principal
    return principal


def _authenticate(request: Request) -> Principal:
    """The caller, on a session of its own (the route's comes later, and finds it known)."""
    with Session(request.app.state.reader) as session:
        return caller(request, session)


async def caller_async(request: Request, connection: AsyncConnection) -> Principal:
    """``caller`` on an async connection: the caller found is the request's from then on."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = await authenticate_async(connection, bearer_token(request), now=clock.now())
        request.state.principal = principal
    return principal


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    return caller(request, session)


async def read_as_caller(request: Request, read: Callable[[Session, Principal], T]) -> T:
    """``read(session, caller)`` in one thread hop, the caller authenticated in it and the session
    closed in it: a hot read (the status lookup) pays one hop where the dependencies pay three
    (the caller, the route, the closing; docs/performance.md, throughput). It only reads
    (``db.engine.reader``)."""

    def work() -> T:
        with Session(request.app.state.reader, expire_on_commit=False) as session:
            return read(session, caller(request, session))

    return await run_in_threadpool(work)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """Each object of a JSON body as it is read: a key twice, or a text no store can keep (a
    lone surrogate), refuses the body."""
    keys = set()
    for key, value in pairs:
        if key in keys:
            raise DuplicateKey(key)
        keys.add(key)
        if _has_lone_surrogate(key):
            raise LoneSurrogate("une clé")
        if _has_lone_surrogate(value):
            raise LoneSurrogate(f"la valeur de « {key} »")
    return dict(pairs)


def _has_lone_surrogate(value: object) -> bool:
    """Texts, and texts in lists (objects in lists went through the hook already)."""
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")


async def refuse_duplicate_keys(request: Request) -> None:
    """A JSON object with one key twice is refused, whole: FastAPI would keep the last one
    ({"buyer": A, …, "buyer": B} is B), a proxy or a log reader may keep the first. Checked once
    the caller is known (the caller comes first: the route then finds it authenticated), on the
    body FastAPI has already read (a route that reads its own body, as a stream, is left to do
    so). A read has no body to check and authenticates in its route."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return  # no session made for a read: the lookups are the API's most frequent requests
    await run_in_threadpool(_authenticate, request)
    if getattr(request.scope.get("route"), "body_field", None) is None:
        return
    if "json" not in request.headers.get("content-type", "json"):
        return
    body = await request.body()
    if not body:
        return
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except ValueError:  # unreadable JSON: FastAPI has said so already
        return


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


# --- bodies read once the caller is known -----------------------------------------------------
# FastAPI reads a ``body`` parameter before any dependency, so before the token is checked; these
# are read after it, by the costly routes (``clausier.http.limits`` has bounded their size).


async def get_body_file(request: Request, _caller: PrincipalDep) -> AsyncIterator[BinaryIO]:
    """The body as a file, kept in memory up to 1 MB and on disk beyond, for a parser that
    reads it as a stream."""
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as file:
        async for chunk in request.stream():
            file.write(chunk)
        file.seek(0)
        yield file


async def get_json_body(request: Request, _caller: PrincipalDep) -> Any:
    """The body's JSON, refused as FastAPI refuses an unreadable ``body`` parameter."""
    data = await request.body()
    if not data:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        return json.loads(data, object_pairs_hook=_unique_keys)  # a key twice: DuplicateKey
    except json.JSONDecodeError as error:
        invalid = {"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error",
                   "input": {}, "ctx": {"error": error.msg}}  # fmt: skip
        raise RequestValidationError([invalid], body=error.doc) from error
    except UnicodeDecodeError as error:
        raise HTTPException(400) from error


BodyFileDep = Annotated[BinaryIO, Depends(get_body_file)]
JsonBodyDep = Annotated[Any, Depends(get_json_body)]
