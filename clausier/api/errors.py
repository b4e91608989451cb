"""Domain errors, and the framework's own (an unknown address, a wrong method, unreadable JSON, a
body too large or holding a NUL), mapped to HTTP once, with French messages in one stable JSON
shape: ``{"error": {"type": …, "message": …, …details}}`` (a page of the site outside ``/api``)."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import Response

from clausier.auth.scope import Forbidden
from clausier.auth.tokens import NotAuthenticated
from clausier.errors import (
    ClausierError,
    GuardRefused,
    InvalidInput,
    LoadErrors,
    NotFound,
    Refused,
    TooManyAttempts,
    TransitionNotAllowed,
    VersionConflict,
)
from clausier.validation.messages import dotted, french_message, json_position
from clausier.web.pages import error_page


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

HTTP_STATUS: dict[type[ClausierError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    VersionConflict: 409,
    Refused: 409,
    InvalidInput: 422,
    TooManyAttempts: 429,
}


PAGE_TITLES = {
    401: "Connexion requise",
    403: "Accès réservé",
    404: "Introuvable",
    409: "Action refusée",
    422: "Données invalides",
    429: "Trop de tentatives",
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


NUL_MESSAGE = "Données invalides : le caractère nul (U+0000) n'est accepté dans aucun champ."


class NulCharacter(HTTPException):
    """A NUL in the address or the body: no text the store keeps may hold one (PostgreSQL
    refuses it), so it is refused before any route reads it (``clausier.api.limits``)."""

    def __init__(self) -> None:
        super().__init__(422, detail=NUL_MESSAGE)


class BodyTooLarge(HTTPException):
    """More bytes than the address takes (``limits`` in config.yaml): ``message`` says how many
    it takes. The connection is closed after the answer, so the rest is never read."""

    def __init__(self, limit: int, message: str) -> None:
        super().__init__(413, detail=message, headers={"Connection": "close"})
        self.limit, self.message = limit, message


async def http_error_response(request: Request, error: HTTPException) -> Response:
    """What the framework answers itself (an unknown address, a wrong method, a body it
    cannot read or will not read), said in French: the API's shape under /api, a page of the
    site elsewhere."""
    if error.status_code in (204, 304):
        return Response(status_code=error.status_code, headers=error.headers)
    if not _under_api(request):
        return _web_page(request, error)
    if error.status_code == 405:  # Starlette names the methods of one route of the path only
        error.headers = {**(error.headers or {}), "Allow": _documented_methods(request)}
    kind, message = _api_words(request, error)
    body = {"type": kind, "message": message}
    if isinstance(error, BodyTooLarge):
        body["limit"] = error.limit
    return JSONResponse({"error": body}, status_code=error.status_code, headers=error.headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ClausierError)
    async def _domain(request: Request, error: ClausierError) -> Response:
        if not _under_api(request):  # a page's own refusal, in the site's layout
            status = status_for(error)
            retry = (
                {"Retry-After": str(error.minutes * 60)}
                if isinstance(error, TooManyAttempts)
                else None
            )
            return error_page(request, status, PAGE_TITLES.get(status, "Erreur"), str(error), retry)
        body = {"error": {"type": type(error).__name__, "message": str(error), **_details(error)}}
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
        return JSONResponse(body, status_code=status_for(error), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [_problem(item, error.body) for item in error.errors()]
        message = "Données invalides : " + " ; ".join(
            p["message"] if p["field"] == "body" else f"« {p['field']} » : {p['message']}"
            for p in problems
        )
        if not _under_api(request):
            if any(item["loc"][:1] == ("path",) for item in error.errors()):
                return _web_page(request, HTTPException(404))  # /lots/abc: no such page
            return error_page(request, 422, "Données invalides", message)
        return JSONResponse(
            {"error": {"type": "InvalidInput", "message": message, "problems": problems}},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        return await http_error_response(request, error)


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


def _under_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


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


def _web_page(request: Request, error: HTTPException) -> Response:
    if isinstance(error, BodyTooLarge):
        title, text = "Envoi trop volumineux", f"{error.message} Rien n'a été enregistré."
    elif isinstance(error, NulCharacter):
        title, text = "Données invalides", NUL_MESSAGE
    else:
        title, text = _page_words(request, error.status_code)
    return error_page(request, error.status_code, title, text, error.headers)


def _page_words(request: Request, status: int) -> tuple[str, str]:
    if status == 404:
        return "Page introuvable", (
            f"Aucune page à l'adresse {request.url.path} : vérifiez-la, ou repartez de l'accueil."
        )
    if status == 405 and request.method in ("GET", "HEAD"):
        return "Page introuvable", (
            "Cette adresse reçoit les formulaires des pages de Clausier : "
            "elle ne s'ouvre pas directement."
        )
    if status == 405:
        return "Action impossible", f"Cette page ne reçoit pas d'envoi (méthode {request.method})."
    if status in (400, 413):
        return "Formulaire illisible", (
            "Le formulaire envoyé n'a pas pu être lu : rechargez la page et recommencez."
        )
    return "Erreur", f"La demande n'a pas abouti (erreur HTTP {status})."
