"""The markets a person follows (a page at a time, filtered), the forms that create, edit and
import them, and each market's page."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from clausier.auth.models import Role
from clausier.auth.policy import Action, require_to
from clausier.auth.scope import market_condition, visible_market
from clausier.auth.tokens import Principal
from clausier.auth.writes import load_writer, market_writer
from clausier.errors import (
    ClausierError,
    LoadErrors,
    LoadProblem,
    LotRemovalRefused,
    MarketRefTaken,
    VersionConflict,
)
from clausier.formatting import fr_size
from clausier.http.session import SessionDep
from clausier.loading.loader import KIND_LABELS, Shown, commit_load, load_data
from clausier.loading.source import content_of
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Structure
from clausier.referential.models import Commune
from clausier.referential.service import communes_named
from clausier.web.common import (
    FormDep,
    WebDep,
    actor_of,
    check_csrf,
    form_text,
    principal_of,
    render,
)
from clausier.web.market_forms import MarketForm, on_fields
from clausier.web.market_page import market_page
from clausier.web.models import WebSession
from clausier.web.routes.conventions import to_renew_notice
from workflow.lifecycle import STATE_LABELS, STATES

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
CHANGED = (
    "Le marché a changé depuis l'affichage de ce formulaire (une autre modification, ou le cycle "
    "de vie) : voici ses valeurs actuelles ; refaites vos modifications, puis enregistrez."
)


# --- the list ----------------------------------------------------------------------------------


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and re.fullmatch(r"[0-9]{1,6}", raw) and int(raw) > 0 else 1


@router.get("/marches")
def markets(
    request: Request,
    web: WebDep,
    session: SessionDep,
    etat: str | None = None,
    commune: str | None = None,
    structure: str | None = None,
    q: str | None = None,
    page: str | None = None,
) -> Response:
    principal = principal_of(web)
    reach = market_condition(principal)
    chosen = {"etat": etat or "", "commune": commune or "", "structure": structure or "",
              "q": (q or "").strip()[:100]}  # fmt: skip
    query = select(Market).where(reach)
    if chosen["etat"]:
        query = query.where(Market.state == chosen["etat"])
    if chosen["commune"]:
        query = query.where(Market.commune_code == chosen["commune"])
    if chosen["structure"]:
        query = query.where(
            Market.structure_id.in_(
                select(Structure.id).where(Structure.ref == chosen["structure"])
            )
        )
    if chosen["q"]:
        typed = chosen["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(Market.ref.ilike(f"%{typed}%", escape="\\"),
                Market.title.ilike(f"%{typed}%", escape="\\"))
        )  # fmt: skip
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // PER_PAGE))
    number = min(_page_number(page), pages)
    listed = query.subquery()
    rows = session.exec(
        select(Market, Buyer, Commune.name, Structure.name)
        .join(listed, listed.c.id == Market.id)
        .join(Buyer, Buyer.id == Market.buyer_id)
        .outerjoin(Commune, Commune.code == Market.commune_code)
        .outerjoin(Structure, Structure.id == Market.structure_id)
        .order_by(Market.ref)
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    filters = {key: value for key, value in chosen.items() if value}

    def at(n: int) -> str:
        return "/marches?" + urlencode(filters | ({"page": n} if n > 1 else {}))

    return render(
        request,
        "marches.html",
        web,
        rows=rows,
        states=STATES,
        labels=STATE_LABELS,
        etat=chosen["etat"],
        chosen=chosen,
        communes=session.exec(
            select(Commune.code, Commune.name)
            .where(Commune.code.in_(select(Market.commune_code).where(reach)))
            .order_by(Commune.name, Commune.code)
        ).all(),
        structures=session.exec(
            select(Structure.ref, Structure.name)
            .where(Structure.id.in_(select(Market.structure_id).where(reach)))
            .order_by(Structure.name)
        ).all(),
        total=total,
        number=number,
        pages=pages,
        previous=at(number - 1) if number > 1 else None,
        next=at(number + 1) if number < pages else None,
        filtered=bool(filters),
        to_renew=to_renew_notice(request, session, web),
    )


# --- creating and editing a market ---------------------------------------------------------


def _buyers(session: Session, principal: Principal) -> list[Buyer]:
    """Whose markets the form files: a buyer its own, an operator any buyer."""
    if principal.role == Role.admin:
        return list(session.exec(select(Buyer).order_by(Buyer.name)).all())
    return [session.get(Buyer, principal.org_id)]


def _form_page(
    request: Request, web: WebSession, session: Session, form: MarketForm, *,
    market: Market | None = None, problems=(), conflict: str | None = None,
    focus: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    principal = principal_of(web)
    typed = form.values["commune"]
    named = communes_named(session, typed) if re.match(r"[0-9]", typed) else []
    where = f"{named[0].name} ({named[0].departement_name})" if len(named) == 1 else None
    placed = on_fields(list(problems), form)
    if form.communes:
        placed.insert(0, _commune_choice(form))
    return render(
        request, "marche_formulaire.html", web, status=status, form=form, market=market,
        buyers=_buyers(session, principal), choose_buyer=principal.role == Role.admin,
        errors=placed, field_errors={p.anchor: p.message for p in reversed(placed)},
        conflict=conflict, focus=focus, commune_label=where,
        action=f"/marches/{market.ref}/modifier" if market else "/marches/nouveau",
    )  # fmt: skip


def _commune_choice(form: MarketForm):
    from clausier.web.market_forms import FieldProblem

    return FieldProblem(
        "commune", "commune",
        f"plusieurs communes répondent à « {form.values['commune']} » : choisissez-la dans la liste",
    )  # fmt: skip


def _writer(principal: Principal):
    require_to(principal, Action.write_markets)  # refused in words, before the load's rule
    return market_writer(principal)


def _save(
    request: Request, web: WebSession, session: Session, form: MarketForm, shown: Shown,
    market: Market | None,
) -> Response:  # fmt: skip
    """The loader's write of the form's market, as ``POST /api/markets`` makes it."""
    principal = principal_of(web)
    writer = _writer(principal)
    if principal.role == Role.buyer:  # its markets are filed under its own SIRET
        form.values["buyer"] = session.get(Buyer, principal.org_id).siret
    commune = form.resolve_commune(session)
    options = {"name": "formulaire", "actor": actor_of(web), "writer": writer,
               "settings": request.app.state.settings}  # fmt: skip
    if commune is None:  # a name several communes share: the person picks one
        return _form_page(request, web, session, form, market=market, status=422,
                          problems=_other_problems(session, form, options))  # fmt: skip
    ref = form.values["ref"]
    try:
        commit_load(session, {"markets": [form.row(commune)]}, shown={ref: shown}, **options)
    except LoadErrors as refused:
        session.rollback()
        return _form_page(request, web, session, form, market=market, problems=refused.errors,
                          status=422)  # fmt: skip
    except (MarketRefTaken, LotRemovalRefused) as refused:
        session.rollback()
        where = "ref" if isinstance(refused, MarketRefTaken) else "lots"
        problem = LoadProblem(path="formulaire", line=None, field=f"markets[].{where}",
                              message=str(refused))  # fmt: skip
        return _form_page(request, web, session, form, market=market, problems=[problem],
                          status=409)  # fmt: skip
    except VersionConflict:
        session.rollback()
        current = visible_market(session, principal, ref)
        return _form_page(request, web, session, _form_of(session, current), market=current,
                          conflict=CHANGED, status=409)  # fmt: skip
    return RedirectResponse(f"/marches/{ref}", status_code=303)


def _other_problems(session: Session, form: MarketForm, options: dict) -> list[LoadProblem]:
    """The loader's problems of the rest of the form, while the commune is still to choose (any
    one of those named stands in), so that the person sees them all at once; never written."""
    try:
        load_data(session, {"markets": [form.row(form.communes[0].code)]}, **options)
    except LoadErrors as refused:
        return [p for p in refused.errors if not p.field.endswith(".commune")]
    except (ClausierError, IntegrityError):  # said when the form is sent with its commune
        pass
    finally:
        session.rollback()
    return []


def _form_of(session: Session, market: Market) -> MarketForm:
    lots = session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    return MarketForm.of_market(market, list(lots), session.get(Buyer, market.buyer_id).siret)


@router.get("/marches/nouveau")
def new_market(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    _writer(principal)
    own = session.get(Buyer, principal.org_id).siret if principal.role == Role.buyer else ""
    return _form_page(request, web, session, MarketForm.blank(own))


@router.post("/marches/nouveau")
def create_market(request: Request, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    check_csrf(web, form_text(form.get("csrf")))
    _writer(principal_of(web))
    typed = MarketForm.posted(form)
    if form_text(form.get("action")) == "ajouter":
        focus = typed.with_lot_row()
        return _form_page(request, web, session, typed, focus=focus)
    return _save(request, web, session, typed, Shown(version=None), None)


def _editable(session: Session, principal: Principal, ref: str) -> Market:
    """The market in the caller's reach (else not found), if the caller may change it now."""
    market = visible_market(session, principal, ref)
    _writer(principal).may_edit(market)
    return market


@router.get("/marches/{ref:ref}/modifier")
def edit_market(request: Request, ref: str, web: WebDep, session: SessionDep) -> Response:
    market = _editable(session, principal_of(web), ref)
    return _form_page(request, web, session, _form_of(session, market), market=market)


@router.post("/marches/{ref:ref}/modifier")
def save_market(
    request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    check_csrf(web, form_text(form.get("csrf")))
    market = _editable(session, principal_of(web), ref)
    typed = MarketForm.posted(form)
    typed.values["ref"] = market.ref  # the natural key: an edit never renames
    if form_text(form.get("action")) == "ajouter":
        focus = typed.with_lot_row()
        return _form_page(request, web, session, typed, market=market, focus=focus)
    if typed.version is None:  # a form without its version cannot tell a change meanwhile
        return _form_page(request, web, session, _form_of(session, market), market=market,
                          conflict=CHANGED, status=409)  # fmt: skip
    return _save(request, web, session, typed, Shown(version=typed.version), market)


# --- importing a file --------------------------------------------------------------------------


def _import_page(request: Request, web: WebSession, *, status: int = 200, **context) -> Response:
    limit = request.app.state.settings.limits.load_bytes
    return render(request, "marches_import.html", web, status=status, limit=fr_size(limit),
                  **context)  # fmt: skip


@router.get("/marches/import")
def import_page(request: Request, web: WebDep) -> Response:
    _writer(principal_of(web))
    return _import_page(request, web)


def _file_problem(name: str, message: str) -> LoadErrors:
    return LoadErrors(name, [LoadProblem(path=name, line=None, field="fichier", message=message)])


def _imported(request: Request, session: Session, principal: Principal, upload) -> tuple:
    """The file's content as the loader reads it, narrowed to what the caller may import: a
    buyer its own markets and their lots (as ``POST /api/markets``), an operator anything
    ``POST /api/load`` takes."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise _file_problem("fichier", "choisissez un fichier CSV ou YAML")
    name = upload.filename
    if not name.lower().endswith((".csv", ".yaml", ".yml")):
        raise _file_problem(name, "attendu : un fichier .csv ou .yaml (le format de chargement)")
    limit = request.app.state.settings.limits.load_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise _file_problem(name, f"fichier trop volumineux ({fr_size(limit)} au plus)")
    content = content_of(data, name)
    if principal.role != Role.buyer:
        return name, content, load_writer(principal)
    writer = market_writer(principal)
    if isinstance(content, dict):
        others = [key for key in content if key != "markets"]
        if others:
            lines = getattr(content, "key_lines", {})
            raise LoadErrors(name, [
                LoadProblem(path=name, line=lines.get(key), field=str(key), message=(
                    "un acheteur importe ici ses marchés et leurs lots (clé « markets ») ; "
                    f"les {KIND_LABELS.get(key, 'autres données')} sont chargés par "
                    "l'administration"))
                for key in others
            ])  # fmt: skip
        siret = session.get(Buyer, principal.org_id).siret
        markets = content.get("markets")
        for market in markets if isinstance(markets, list) else ():
            if isinstance(market, dict):  # filed under its own SIRET, as the API does
                market["buyer"] = siret
    return name, content, writer


@router.post("/marches/import")
def import_file(request: Request, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    _writer(principal)
    try:
        name, content, writer = _imported(request, session, principal, form.get("fichier"))
        report = commit_load(
            session, content, name=name, actor=actor_of(web), writer=writer,
            settings=request.app.state.settings,
        )  # fmt: skip
    except LoadErrors as refused:
        session.rollback()
        return _import_page(request, web, problems=refused.errors, total=refused.total,
                            file=refused.path, status=422)  # fmt: skip
    counts = [
        (KIND_LABELS[kind], counter)
        for kind, counter in report.counts.items()
        if sum(counter.values())
    ]
    return _import_page(request, web, report=report, counts=counts, file=name)


@router.get("/marches/{ref:ref}")
def market(request: Request, ref: str, web: WebDep, session: SessionDep) -> Response:
    return market_page(request, web, session, ref)
