"""Domain errors mapped to HTTP once, with French messages in one stable JSON shape:
``{"error": {"type": …, "message": …, …details}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import URL
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clausier.auth.scope import Forbidden
from clausier.auth.tokens import NotAuthenticated
from clausier.errors import (
    ClausierError,
    GuardRefused,
    InvalidInput,
    LoadErrors,
    NotFound,
    Refused,
    TransitionNotAllowed,
    VersionConflict,
)
from clausier.validation.messages import dotted, french_message


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    message: str


class ErrorBody(BaseModel):
    """Every error answers in this shape, its message in French."""

    error: ErrorDetail


DOCUMENTED = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "Jeton absent, inconnu, expiré ou révoqué"),
        (403, "Le rôle ne permet pas cette action"),
        (404, "Introuvable, ou hors de la portée de l'appelant"),
        (409, "Refusé par le domaine (état, version, règle)"),
        (422, "Données invalides"),
    )
}

HTTP_STATUS: dict[type[ClausierError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    VersionConflict: 409,
    Refused: 409,
    InvalidInput: 422,
}


def status_for(error: ClausierError) -> int:
    for klass in type(error).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return 500


def _details(error: ClausierError) -> dict:
    if isinstance(error, TransitionNotAllowed | GuardRefused):
        details = {
            "market": error.market,
            "state": error.state,
            "trigger": error.trigger,
            "allowed": error.allowed,
        }
        if isinstance(error, GuardRefused):
            details["reasons"] = error.reasons
        return details
    if isinstance(error, LoadErrors):
        return {"problems": [problem.as_dict() for problem in error.errors]}
    return {}


_NUL = "Données invalides : le caractère nul (U+0000) n'est accepté dans aucun champ."


def _holds_nul(url: URL) -> bool:
    return "%00" in url.query or "\x00" in url.path or "%00" in url.path


async def _refused(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"error": {"type": "InvalidInput", "message": _NUL}}, status_code=422)
    await response(scope, receive, send)


class RefuseNul:
    """No text the store keeps may hold a NUL (PostgreSQL refuses it): say so, in French.

    A plain ASGI middleware: ``@app.middleware("http")`` would cost every request a task group
    and a stream around the app, on the hot paths too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _holds_nul(URL(scope=scope)):
            await _refused(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            messages = []  # the whole body, read here and handed on as it came
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
            if b"\\u0000" in body or b"%00" in body or b"\x00" in body:
                await _refused(scope, receive, send)
                return

            async def replay() -> Message:
                return messages.pop(0) if messages else await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseNul)

    @app.exception_handler(ClausierError)
    async def _domain(_request: Request, error: ClausierError) -> JSONResponse:
        body = {"error": {"type": type(error).__name__, "message": str(error), **_details(error)}}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
        return JSONResponse(body, status_code=status_for(error), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": dotted(tuple(item["loc"])), "message": french_message(item)}
            for item in error.errors()
        ]
        message = "Données invalides : " + " ; ".join(
            f"« {p['field']} » : {p['message']}" for p in problems
        )
        return JSONResponse(
            {"error": {"type": "InvalidInput", "message": message, "problems": problems}},
            status_code=422,
        )
