"""The pages: sign-in, the buyer's markets and market page, the facilitator's queue, coverage."""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, select

from clausier import clock
from clausier.api.deps import RowId, get_session
from clausier.auth import throttle
from clausier.auth.models import ROLE_LABELS, Role
from clausier.auth.scope import (
    market_condition,
    redact_status,
    reminder_condition,
    task_condition,
    task_in_scope,
    visible_market,
)
from clausier.auth.tokens import NotAuthenticated, Principal, authenticate
from clausier.errors import ClausierError
from clausier.formatting import fr_date, fr_moment, fr_number
from clausier.markets.models import Market
from clausier.markets.status import market_overview
from clausier.partners.models import Buyer, Contractor
from clausier.partnerships.report import coverage_report
from clausier.referential.service import place_of
from clausier.tasks import service as tasks
from clausier.web import auth
from clausier.web.client import client_address
from clausier.web.models import LoginLink, WebSession
from notifications import sweep
from workflow.lifecycle import STATE_LABELS, STATES

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(fr_date=fr_date, fr_moment=fr_moment, fr_number=fr_number)
MAP_SVG = (HERE / "static" / "france-departements.svg").read_text(encoding="utf-8")
_DEPARTEMENT = re.compile(r'<path\s+id="([^"]+)"')


def coloured_map(colours: dict[str, str]) -> str:
    """The map with each département's class (covered, partial, uncovered), which the style
    sheet colours: the pages' CSP allows no inline style."""
    return _DEPARTEMENT.sub(
        lambda m: f'{m[0]} class="{colours[m[1]]}"' if m[1] in colours else m[0], MAP_SVG
    )


OVERSEAS = [
    ("971", "Guadeloupe"),
    ("972", "Martinique"),
    ("973", "Guyane"),
    ("974", "La Réunion"),
    ("976", "Mayotte"),
]
MAIN_PATH = [s.name for s in STATES if not s.final] + ["closed"]

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]


class SignInRequired(Exception):
    pass


class BadCsrf(Exception):
    pass


def _web(request: Request, session: SessionDep) -> WebSession:
    row = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    if row is None:
        raise SignInRequired
    return row


WebDep = Annotated[WebSession, Depends(_web)]


def _check_csrf(web: WebSession, token: str) -> None:
    if not secrets.compare_digest(web.csrf, token or ""):
        raise BadCsrf


def _page(
    request: Request, name: str, web: WebSession | None, status: int = 200, **context
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"web": web, "role_label": ROLE_LABELS.get(Role(web.role)) if web else None, **context},
        status_code=status,
    )  # fmt: skip


def message_page(request: Request, web: WebSession, status: int, title: str, text: str) -> Response:
    return _page(request, "message.html", web, status=status, title=title, message=text)


def error_page(
    request: Request, status: int, title: str, text: str, headers: dict | None = None
) -> Response:
    """An error met before any page could answer (an unknown address, a wrong method): the
    site's layout still, with its menu for a person signed in."""
    web = None
    if request.cookies.get(auth.COOKIE):
        with Session(request.app.state.engine) as session:
            web = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    response = _page(request, "message.html", web, status=status, title=title, message=text)
    response.headers.update(headers or {})
    return response


def reserved_page(request: Request, web: WebSession, text: str) -> Response:
    """A 403 « Accès réservé »; ``text`` says whose page it is."""
    return message_page(request, web, 403, "Accès réservé", text)


def install(app) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc) -> Response:
        response = RedirectResponse("/connexion", status_code=303)
        if request.method == "GET":  # back to this page once signed in (a reminder's link)
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response.set_cookie(NEXT_COOKIE, wanted, httponly=True, samesite="lax", max_age=3600)
        return response

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, _exc) -> Response:
        return HTMLResponse(
            "<h1>Formulaire expiré</h1><p>Rechargez la page et recommencez.</p>", status_code=403
        )

    app.include_router(router)
    from clausier.web import (  # the execution pages build on this module's helpers
        beneficiary_pages,
        declaration_pages,
        evaluation_pages,
        review_pages,
    )

    for module in (declaration_pages, review_pages, beneficiary_pages, evaluation_pages):
        app.include_router(module.router)
    from clausier.web import reports  # the reports page builds on this module's helpers

    app.include_router(reports.router)


# --- signing in -------------------------------------------------------------------------------


PRE_SESSION_CSRF = "clausier_csrf"


def _pre_session_page(request: Request, name: str, **context) -> Response:
    """A page whose form is sent before any session exists: its CSRF token in a cookie too."""
    csrf = secrets.token_urlsafe(24)
    response = _page(request, name, None, csrf=csrf, **context)
    response.set_cookie(PRE_SESSION_CSRF, csrf, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/connexion")
def sign_in_page(request: Request, sent: bool = False) -> Response:
    return _pre_session_page(request, "connexion.html", sent=sent)


def _pre_session_csrf(request: Request, token: str) -> None:
    if not secrets.compare_digest(request.cookies.get(PRE_SESSION_CSRF, ""), token or "x"):
        raise BadCsrf


@router.post("/connexion/lien")
def send_link(
    request: Request, session: SessionDep, background: BackgroundTasks,
    email: Annotated[str, Form()], csrf: Annotated[str, Form()],
) -> Response:  # fmt: skip
    _pre_session_csrf(request, csrf)
    settings = request.app.state.settings
    engine, now = request.app.state.engine, clock.now()
    counts = [
        throttle.count(engine, throttle.links_per_client(settings.sign_in), client_address(request), now=now),
        throttle.count(engine, throttle.links_per_address(settings.sign_in), email.strip().lower(), now=now),
    ]  # fmt: skip
    # over a limit nothing is sent, and the answer is the same: addresses do not leak
    within = not any(c.over for c in counts)
    if within and auth.send_link(session, email, settings=settings, now=now):
        session.commit()
        background.add_task(
            lambda: sweep.deliver(
                engine, settings, worker="web", now=clock.now(), report=sweep.SweepReport()
            )
        )
    # the same answer whether the address is known or not
    return RedirectResponse("/connexion?sent=1", status_code=303, background=background)


NEXT_COOKIE = "clausier_suite"
HOMES = {Role.facilitator: "/taches", Role.contractor: "/lots"}


def _local(path: str | None) -> str | None:
    """A path of this site only: never an open redirect elsewhere."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return None


def _signed_in(
    request: Request, session: Session, principal: Principal, spent: throttle.Count, *,
    link: LoginLink | None = None, wanted: str | None = None,
) -> Response:  # fmt: skip
    secret = auth.open_session(session, principal, now=clock.now(), link=link)
    session.commit()
    throttle.give_back(request.app.state.engine, spent)  # a right credential is no guess
    home = _local(wanted) or HOMES.get(principal.role, "/marches")
    response = RedirectResponse(home, status_code=303)
    response.delete_cookie(NEXT_COOKIE)
    response.set_cookie(
        auth.COOKIE, secret, httponly=True, samesite="lax", max_age=auth.SESSION_HOURS * 3600
    )
    return response


def _attempt(request: Request) -> throttle.Count:
    """A token or a link tried: counted for the client, refused over its limit before anything
    is checked (a guess over the limit learns nothing)."""
    now = clock.now()
    spent = throttle.count(
        request.app.state.engine,
        throttle.attempts_per_client(request.app.state.settings.sign_in),
        client_address(request),
        now=now,
    )
    if spent.over:
        raise spent.refusal(now)
    return spent


def _bad_link(request: Request) -> Response:
    return _page(request, "message.html", None, status=400, title="Lien invalide",
                 message="Ce lien de connexion est invalide, déjà utilisé ou expiré : demandez-en un autre.")  # fmt: skip


@router.post("/connexion/jeton")
def sign_in_with_token(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> Response:
    _pre_session_csrf(request, csrf)
    spent = _attempt(request)
    try:
        principal = authenticate(session, token.strip(), now=clock.now())
    except NotAuthenticated:
        return _page(request, "connexion.html", None, status=401, csrf=csrf, sent=False,
                     error="Jeton inconnu, expiré ou révoqué.")  # fmt: skip
    return _signed_in(request, session, principal, spent, wanted=request.cookies.get(NEXT_COOKIE))


# after the fixed addresses above: /connexion/jeton is no link
@router.get("/connexion/{secret}")
def link_page(request: Request, secret: str, session: SessionDep) -> Response:
    """Opening a link signs nobody in: a mail scanner may open it first. The page's button
    does."""
    spent = _attempt(request)
    link = auth.usable_link(session, secret, now=clock.now())
    if link is None:
        return _bad_link(request)
    throttle.give_back(request.app.state.engine, spent)
    return _pre_session_page(request, "connexion_lien.html", secret=secret, label=link.label,
                             as_role=ROLE_LABELS[Role(link.role)])  # fmt: skip


@router.post("/connexion/{secret}")
def follow_link(
    request: Request, secret: str, session: SessionDep, csrf: Annotated[str, Form()]
) -> Response:
    _pre_session_csrf(request, csrf)
    spent = _attempt(request)
    link = auth.use_link(session, secret, now=clock.now())
    if link is None:
        session.commit()  # a link whose holder has changed is used up all the same
        return _bad_link(request)
    principal = Principal(role=Role(link.role), org_id=link.org_id, label=link.label)
    return _signed_in(request, session, principal, spent, link=link,
                      wanted=request.cookies.get(NEXT_COOKIE))  # fmt: skip


@router.post("/deconnexion")
def sign_out(web: WebDep, session: SessionDep, csrf: Annotated[str, Form()]) -> Response:
    _check_csrf(web, csrf)
    web.expires_at = clock.now()
    session.add(web)
    session.commit()
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(auth.COOKIE)
    return response


# --- pages ------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    web = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    if web is None:
        return RedirectResponse("/connexion", status_code=303)
    return RedirectResponse(HOMES.get(Role(web.role), "/marches"), status_code=303)


@router.get("/marches")
def markets(
    request: Request, web: WebDep, session: SessionDep, etat: str | None = None
) -> Response:
    principal = auth.principal_of(web)
    query = (
        select(Market, Buyer)
        .join(Buyer, Buyer.id == Market.buyer_id)
        .where(market_condition(principal))
    )
    if etat:
        query = query.where(Market.state == etat)
    rows = session.exec(query.order_by(Market.ref)).all()
    return _page(
        request, "marches.html", web, rows=rows, states=STATES, labels=STATE_LABELS, etat=etat
    )


@router.get("/marches/{ref}")
def market(request: Request, ref: str, web: WebDep, session: SessionDep) -> Response:
    return market_page(request, web, session, ref)


def market_page(
    request: Request, web: WebSession, session: Session, ref: str, *, status: int = 200, **sections
) -> Response:
    """The market page; ``sections`` go to the part the execution pages add (the evaluation)."""
    from clausier.web.evaluation_pages import market_sections  # it builds on this module

    principal = auth.principal_of(web)
    try:
        found = visible_market(session, principal, ref)
    except ClausierError as error:
        return _page(
            request, "message.html", web, status=404, title="Marché introuvable", message=str(error)
        )
    settings = request.app.state.settings
    doc = market_overview(session, found, today=clock.today(), now=clock.now(), settings=settings,
                          task_scope=task_condition(principal),
                          reminder_scope=reminder_condition(principal))  # fmt: skip
    own = session.get(Contractor, principal.org_id) if principal.role == Role.contractor else None
    doc = redact_status(doc, principal, own.siret if own else None)
    passed = {entry["to"] for entry in doc["history"] if entry["from"] != entry["to"]}  # not edits
    return _page(
        request,
        "marche.html",
        web,
        status=status,
        doc=doc,
        main_path=MAIN_PATH,
        labels=STATE_LABELS,
        passed=passed,
        **market_sections(request, session, principal, found, **sections),
    )


@router.get("/taches")
def queue(
    request: Request,
    web: WebDep,
    session: SessionDep,
    type: str | None = None,
    retard: bool = False,
) -> Response:
    principal = auth.principal_of(web)
    if principal.role not in (Role.facilitator, Role.admin, Role.buyer):
        return reserved_page(request, web, "La file des tâches est celle des facilitateurs.")
    settings = request.app.state.settings
    rows = tasks.queue(
        session,
        now=clock.now(),
        scope=task_condition(principal),
        kind=type or None,
        overdue_only=retard,
    )
    return _page(
        request, "taches.html", web, rows=rows, kinds=settings.tasks.kinds, kind=type, retard=retard
    )


def _task_action(
    request: Request, web: WebSession, session: Session, task_id: int, csrf: str, action
) -> Response:
    _check_csrf(web, csrf)
    principal = auth.principal_of(web)
    try:
        task_in_scope(session, principal, task_id)
    except ClausierError:  # out of scope or not a facilitator's: the page says not found
        return _page(
            request,
            "message.html",
            web,
            status=404,
            title="Tâche introuvable",
            message=f"Tâche {task_id} introuvable.",
        )
    actor = web.person_email or f"{principal.role.value}:{principal.label}"
    try:
        action(actor)
    except ClausierError as error:
        return _page(
            request, "message.html", web, status=409, title="Action refusée", message=str(error)
        )
    session.commit()
    return RedirectResponse("/taches", status_code=303)


@router.post("/taches/{task_id}/fait")
def task_done(
    request: Request, task_id: RowId, web: WebDep, session: SessionDep, csrf: Annotated[str, Form()]
) -> Response:
    return _task_action(request, web, session, task_id, csrf,
                        lambda actor: tasks.complete(session, task_id, actor=actor, now=clock.now()))  # fmt: skip


@router.post("/taches/{task_id}/prendre")
def task_take(
    request: Request, task_id: RowId, web: WebDep, session: SessionDep, csrf: Annotated[str, Form()]
) -> Response:
    if not web.person_email:
        return _page(request, "message.html", web, status=409, title="Action refusée",
                     message="Connectez-vous avec votre adresse pour prendre une tâche.")  # fmt: skip
    return _task_action(request, web, session, task_id, csrf,
                        lambda actor: tasks.take(session, task_id, actor=actor))  # fmt: skip


@router.get("/couverture")
def coverage(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = auth.principal_of(web)
    if principal.role not in (Role.buyer, Role.admin):
        return reserved_page(request, web, "Le rapport de couverture est celui des acheteurs.")
    buyer = session.get(Buyer, principal.org_id) if principal.role == Role.buyer else None
    report = coverage_report(session, today=clock.today(), buyer=buyer)
    by_dep: dict[str, dict] = defaultdict(
        lambda: {
            "covered": 0,
            "uncovered": 0,
            "epcis": defaultdict(lambda: {"covered": [], "uncovered": []}),
        }
    )
    for section in report["buyers"]:
        for entry in section["markets"]:
            place = place_of(session, entry["commune"])
            dep = by_dep[place.departement_code]
            dep["name"] = place.departement_name
            status = "covered" if entry["status"] == "covered" else "uncovered"
            dep[status] += 1
            epci = dep["epcis"][place.epci_name or "Sans EPCI"]
            epci[status].append(
                {
                    "commune": f"{place.name} ({place.code})",
                    "market": entry["ref"],
                    "label": entry["label"],
                }
            )
    colours = {code: ("partial" if d["covered"] and d["uncovered"] else "uncovered" if d["uncovered"] else "covered")
               for code, d in by_dep.items()}  # fmt: skip
    expiring = [
        c for section in report["buyers"] for c in section["conventions"]
        if c["renewal"] == "explicit" and c["status"] == "active"
        and (datetime.fromisoformat(c["in_force_until"]).date() - clock.today()).days <= 60
    ]  # fmt: skip
    return _page(
        request,
        "couverture.html",
        web,
        report=report,
        by_dep=by_dep,
        colours=colours,
        svg=coloured_map(colours),
        expiring=expiring,
    )
