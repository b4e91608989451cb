"""Signing in (a token, or a one-time link sent by e-mail), signing out, and the home page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from clausier import clock
from clausier.auth import throttle
from clausier.auth.models import ROLE_LABELS, Role
from clausier.auth.tokens import Principal, authenticate
from clausier.errors import ExpiredForm, NotAuthenticated
from clausier.http.client import client_address
from clausier.http.session import SessionDep
from clausier.web import auth
from clausier.web.common import NEXT_COOKIE, WebDep, check_csrf, render
from clausier.web.models import LoginLink
from notifications import sweep

router = APIRouter(include_in_schema=False)

PRE_SESSION_CSRF = "clausier_csrf"


def _pre_session_page(request: Request, name: str, **context) -> Response:
    """A page whose form is sent before any session exists: its CSRF token in a cookie too."""
    csrf = secrets.token_urlsafe(24)
    response = render(request, name, None, csrf=csrf, **context)
    response.set_cookie(PRE_SESSION_CSRF, csrf, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/connexion")
def sign_in_page(request: Request, sent: bool = False) -> Response:
    return _pre_session_page(request, "connexion.html", sent=sent)


def _pre_session_csrf(request: Request, token: str) -> None:
    if not secrets.compare_digest(request.cookies.get(PRE_SESSION_CSRF, ""), token or "x"):
        raise ExpiredForm


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
    return render(request, "message.html", None, status=400, title="Lien invalide",
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
        return render(request, "connexion.html", None, status=401, csrf=csrf, sent=False,
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
    check_csrf(web, csrf)
    web.expires_at = clock.now()
    session.add(web)
    session.commit()
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(auth.COOKIE)
    return response


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    web = auth.current(session, request.cookies.get(auth.COOKIE), now=clock.now())
    if web is None:
        return RedirectResponse("/connexion", status_code=303)
    return RedirectResponse(HOMES.get(Role(web.role), "/marches"), status_code=303)
