"""How much a request may send, enforced while it arrives; and no NUL in what it sends.

Each kind of address has its limit (``limits`` in config.yaml). A ``Content-Length`` over it is
answered 413 at once, before any route runs or anyone is authenticated; a body sent without one
is counted as it arrives and stopped by the first chunk over the limit. Either way the answer
closes the connection: the rest is never read. The same pass looks for a NUL, which no text of
the store may hold (PostgreSQL refuses it), chunk by chunk: as a byte, as JSON's ``\\u0000`` or
as a form's ``%00``, even split across two chunks. Nothing is read ahead or kept here: a route
reads its own body, and the costly ones (a load, a CSV file) only once the caller is known.

Starlette's ``RequestBodyLimitMiddleware`` counts the same way, but its limit is one per route
fixed at import and its refusal an English text; these limits come from the configuration and
are refused in French in the shape of the channel (``answer``, given by ``clausier.app``).

A plain ASGI middleware: ``@app.middleware("http")`` would cost every request a task group and
a stream around the app, on the hot paths too.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clausier.config import LimitSettings
from clausier.formatting import fr_size
from clausier.http.refusals import BodyTooLarge, NulCharacter

NUL_FORMS = (b"\x00", b"\\u0000", b"%00")
_OVERLAP = max(len(form) for form in NUL_FORMS) - 1  # what of a form the last chunk may hold


@dataclass(frozen=True)
class Bound:
    """The limit of the addresses ``path`` matches: the sum of these ``limits`` settings."""

    path: re.Pattern[str]
    settings: tuple[str, ...]
    refusal: str  # French, with {size}

    def limit(self, limits: LimitSettings) -> int:
        return sum(getattr(limits, name) for name in self.settings)


BOUNDS = (
    Bound(re.compile(r"/api/load"), ("load_bytes",),
          "Chargement trop volumineux : {size} au plus par envoi ; découpez les données en "
          "plusieurs envois."),
    Bound(re.compile(r"/api/lots/[^/]+/declarations\.csv"), ("statement_csv_bytes",),
          "Fichier d'heures trop volumineux : {size} au plus ; envoyez les mois en plusieurs "
          "fichiers."),
    # a lot's month page: its form, or the same with a CSV file
    Bound(re.compile(r"/lots/[^/]+/declarations/[^/]+"), ("statement_csv_bytes", "form_bytes"),
          "Envoi trop volumineux : {size} au plus pour un relevé d'heures ; envoyez les mois en "
          "plusieurs fichiers."),
    # the markets' import page: a load file, and the form around it
    Bound(re.compile(r"/marches/import"), ("load_bytes", "form_bytes"),
          "Fichier trop volumineux : {size} au plus par import ; découpez les marchés en "
          "plusieurs fichiers."),
    Bound(re.compile(r"/api(/.*)?", re.DOTALL), ("body_bytes",),
          "Requête trop volumineuse : {size} au plus."),
)  # fmt: skip
PAGES = Bound(re.compile(r".*", re.DOTALL), ("form_bytes",),
              "Formulaire trop volumineux : {size} au plus.")  # fmt: skip


def bound_of(path: str) -> Bound:
    """The first bound whose address is ``path`` (any character, a newline too), else a form's."""
    return next((bound for bound in BOUNDS if bound.path.fullmatch(path)), PAGES)


def _nul_in_address(scope: Scope) -> bool:
    return (
        "\x00" in scope["path"]
        or b"%00" in scope.get("raw_path", b"")
        or (b"%00" in scope.get("query_string", b""))
    )


def _body_announced(scope: Scope) -> tuple[bool, int | None]:
    """Whether a body comes, and its ``Content-Length`` if it says one."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isascii() and value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = True
    return chunked or bool(length), length


class BoundedRequests:
    """Refuse, as they arrive, a body over its address's limit and any NUL (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: LimitSettings,
        answer: Callable[[Request, HTTPException], Awaitable[Response]],
    ) -> None:
        self.app, self.limits, self.answer = app, limits, answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _nul_in_address(scope):
            await self._refuse(scope, receive, send, NulCharacter())
            return
        comes, length = _body_announced(scope)
        if not comes:  # a GET: nothing to count
            await self.app(scope, receive, send)
            return
        bound = bound_of(scope["path"])
        limit = bound.limit(self.limits)
        if length is not None and length > limit:
            await self._refuse(scope, receive, send, _too_large(bound, limit))
            return
        await self.app(scope, _watched(receive, bound, limit), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error) -> None:
        response = await self.answer(Request(scope), error)
        await response(scope, receive, send)


def _too_large(bound: Bound, limit: int) -> BodyTooLarge:
    return BodyTooLarge(limit, bound.refusal.format(size=fr_size(limit)))


def _watched(receive: Receive, bound: Bound, limit: int) -> Receive:
    """``receive``, raising ``BodyTooLarge`` at the first chunk past ``limit`` and
    ``NulCharacter`` at the first NUL; the route's error handlers answer either."""
    count, tail = 0, b""

    async def watched() -> Message:
        nonlocal count, tail
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            count += len(chunk)
            if count > limit:
                raise _too_large(bound, limit)
            seam = tail + chunk[:_OVERLAP]  # a form split between the last chunk and this one
            if any(form in chunk or form in seam for form in NUL_FORMS):
                raise NulCharacter()
            tail = (tail + chunk)[-_OVERLAP:]
        return message

    return watched
