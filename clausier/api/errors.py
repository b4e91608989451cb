"""The API's answers to errors: domain errors and the framework's own (an unknown address, a
wrong method, unreadable JSON, a body too large or holding a NUL), in French and in one stable
JSON shape: ``{"error": {"type": …, "message": …, …details}}``. ``clausier.app`` installs them
for ``/api``; the pages answer the same errors with a page (``clausier.web.common``)."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import Response

from clausier.errors import (
    ClausierError,
    GuardRefused,
    LoadErrors,
    NotAuthenticated,
    TransitionNotAllowed,
)
from clausier.http.refusals import NUL_MESSAGE, BodyTooLarge, NulCharacter
from clausier.http.status import status_for
from clausier.validation.messages import dotted, french_message, json_position


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
        (413, "Requête trop volumineuse pour cette adresse"),
        (422, "Données invalides"),
    )
}


def _details(error: ClausierError) -> dict:
    if isinstance(error, TransitionNotAllowed | GuardRefused):
        details = {
            "market": error.market,
            "state": error.state,
            "trigger": error.trigger,
            "allowed": error.allowed,  # whose guards pass now (some with data: needs)
            "needs": error.needs,
            "blocked": [
                {"trigger": trigger, "reasons": reasons}
                for trigger, reasons in error.blocked.items()
            ],
        }
        if isinstance(error, GuardRefused):
            details["reasons"] = error.reasons
        return details
    if isinstance(error, LoadErrors):
        return {"problems": [problem.as_dict() for problem in error.errors], "total": error.total}
    return {}


def domain_response(error: ClausierError) -> Response:
    body = {"error": {"type": type(error).__name__, "message": str(error), **_details(error)}}
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    return JSONResponse(body, status_code=status_for(error), headers=headers)


def invalid_response(error: RequestValidationError) -> Response:
    problems = [_problem(item, error.body) for item in error.errors()]
    return JSONResponse(
        {
            "error": {
                "type": "InvalidInput",
                "message": invalid_message(error),
                "problems": problems,
            }
        },
        status_code=422,
    )


def invalid_message(error: RequestValidationError) -> str:
    """What a request failing its parameters' validation is told, field by field."""
    problems = [_problem(item, error.body) for item in error.errors()]
    return "Données invalides : " + " ; ".join(
        p["message"] if p["field"] == "body" else f"« {p['field']} » : {p['message']}"
        for p in problems
    )


def http_response(request: Request, error: HTTPException) -> Response:
    """What the framework answers itself (an unknown address, a wrong method, a body it cannot
    or will not read), said in French."""
    if error.status_code == 405:  # Starlette names the methods of one route of the path only
        error.headers = {**(error.headers or {}), "Allow": _documented_methods(request)}
    kind, message = _api_words(request, error)
    body = {"type": kind, "message": message}
    if isinstance(error, BodyTooLarge):
        body["limit"] = error.limit
    return JSONResponse({"error": body}, status_code=error.status_code, headers=error.headers)


def _documented_methods(request: Request) -> str:
    """Every method the API's description gives this path."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


def _problem(item: dict, body: object) -> dict:
    if item["type"] == "json_invalid":  # FastAPI gives ("body", offset) and the text it read
        offset = item["loc"][1] if len(item["loc"]) > 1 else None
        if isinstance(body, str) and isinstance(offset, int):
            line, column = json_position(body, offset)
            item = {**item, "ctx": {**(item.get("ctx") or {}), "line": line, "column": column}}
        return {"field": "body", "message": french_message(item)}
    return {"field": dotted(tuple(item["loc"])), "message": french_message(item)}


def _api_words(request: Request, error: HTTPException) -> tuple[str, str]:
    path, status = request.url.path, error.status_code
    if status == 404:
        return "NotFound", f"Adresse inconnue de l'API : {path} (voir /openapi.json)."
    if status == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return "MethodNotAllowed", (
            f"Méthode {request.method} non acceptée sur {path} ; acceptées : {allowed}."
        )
    if status == 400:
        return "InvalidInput", "Données invalides : corps de requête illisible."
    if isinstance(error, BodyTooLarge):
        return "RequestTooLarge", error.message
    if isinstance(error, NulCharacter):
        return "InvalidInput", NUL_MESSAGE
    if status == 413:
        return "RequestTooLarge", "Requête trop volumineuse."
    return "HTTPError", f"Requête refusée (erreur HTTP {status})."
