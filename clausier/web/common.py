"""What every page shares: the templates and their filters (registered once), the signed-in
person, CSRF, the posted form, and one way to answer an error with a page of the site.

A page raises the domain's errors (``clausier.errors``); ``clausier.app`` hands them here, and
the status comes from the same table as the API's (``clausier.http.status``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from clausier import clock
from clausier.auth.models import ROLE_LABELS, Role
from clausier.auth.policy import Action, menu
from clausier.auth.tokens import Principal
from clausier.beneficiaries import service as beneficiaries
from clausier.beneficiaries.models import Beneficiary
from clausier.errors import ClausierError, ExpiredForm, SignInRequired, TooManyAttempts
from clausier.formatting import fr_date, fr_moment, fr_number
from clausier.http.refusals import NUL_MESSAGE, BodyTooLarge, NulCharacter
from clausier.http.session import SessionDep
from clausier.http.status import status_for
from clausier.reports.html import fr_hours, fr_percent
from clausier.web import auth
from clausier.web.models import WebSession

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    fr_date=fr_date, fr_moment=fr_moment, fr_number=fr_number, fr_percent=fr_percent,
    fr_hours=fr_hours,
)  # fmt: skip

NEXT_COOKIE = "clausier_suite"  # the page to come back to once signed in
MAX_ROWS = 300  # lines of one month's declaration form

PAGE_TITLES = {
    401: "Connexion requise",
    403: "Accès réservé",
    404: "Introuvable",
    409: "Action refusée",
    422: "Données invalides",
    429: "Trop de tentatives",
}


# --- the signed-in person -----------------------------------------------------------------------


def current_web(request: Request, session: SessionDep) -> WebSession:
    row = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    if row is None:
        raise SignInRequired
    return row


WebDep = Annotated[WebSession, Depends(current_web)]


def principal_of(web: WebSession) -> Principal:
    return auth.principal_of(web)


def check_csrf(web: WebSession, token: str | None) -> None:
    if not secrets.compare_digest(web.csrf, token or ""):
        raise ExpiredForm


def actor_of(web: WebSession) -> str:
    """Who the history names: the facilitator's e-mail, else the session's party."""
    return web.person_email or f"{web.role}:{web.label}"


def name_for(person: Beneficiary, principal: Principal) -> str | None:
    """The name, for the facilitators of the structure that registered the person only."""
    return beneficiaries.visible_name(person, role=principal.role.value, org_id=principal.org_id)


# --- the posted form ----------------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=MAX_ROWS * 5 + 20)


FormDep = Annotated[FormData, Depends(_form)]


def form_text(value) -> str:
    """A posted field, stripped; "" when absent or a file."""
    return value.strip() if isinstance(value, str) else ""


def blank_fields(values: dict[str, str], required: dict[str, str]) -> list[tuple[str, str]]:
    """(field, message) for each ``required`` field left blank, in their order."""
    return [(field, message) for field, message in required.items() if not values[field].strip()]


# --- answering with a page ----------------------------------------------------------------------


def render(
    request: Request, name: str, web: WebSession | None, status: int = 200, **context
) -> HTMLResponse:
    """A page of the site; its menu shows what the signed-in person may do."""
    may = menu(principal_of(web)) if web else frozenset()
    return templates.TemplateResponse(
        request, name,
        {"web": web, "role_label": ROLE_LABELS.get(Role(web.role)) if web else None,
         "may": {action.value for action in may}, "Action": Action, **context},
        status_code=status,
    )  # fmt: skip


def message_page(
    request: Request, web: WebSession | None, status: int, title: str, text: str
) -> Response:
    return render(request, "message.html", web, status=status, title=title, message=text)


def reserved_page(request: Request, web: WebSession, text: str) -> Response:
    """A 403 « Accès réservé »; ``text`` says whose page it is."""
    return message_page(request, web, 403, "Accès réservé", text)


def error_page(
    request: Request, status: int, title: str, text: str, headers: dict | None = None
) -> Response:
    """An error met outside a page's own answer (an unknown address, a refused action): the
    site's layout still, with its menu for a person signed in."""
    web = None
    if request.cookies.get(auth.COOKIE):
        with Session(request.app.state.engine) as session:
            web = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    response = message_page(request, web, status, title, text)
    response.headers.update(headers or {})
    return response


def sign_in_redirect(request: Request) -> Response:
    response = RedirectResponse("/connexion", status_code=303)
    if request.method == "GET":  # back to this page once signed in (a reminder's link)
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response.set_cookie(NEXT_COOKIE, wanted, httponly=True, samesite="lax", max_age=3600)
    return response


def domain_page(request: Request, error: ClausierError) -> Response:
    """A domain error raised by a page, in the site's layout, with the API's status."""
    if isinstance(error, SignInRequired):
        return sign_in_redirect(request)
    if isinstance(error, ExpiredForm):
        return error_page(request, 403, "Formulaire expiré", str(error))
    status = status_for(error)
    retry = {"Retry-After": str(error.minutes * 60)} if isinstance(error, TooManyAttempts) else None
    return error_page(request, status, PAGE_TITLES.get(status, "Erreur"), str(error), retry)


def validation_page(request: Request, error: RequestValidationError, message: str) -> Response:
    if any(item["loc"][:1] == ("path",) for item in error.errors()):
        return http_page(request, HTTPException(404))  # /lots/abc: no such page
    return error_page(request, 422, "Données invalides", message)


def http_page(request: Request, error: HTTPException) -> Response:
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
