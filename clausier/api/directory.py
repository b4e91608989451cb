"""Buyers, structures and their facilitators, contractors, conventions; loading in bulk; coverage."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import false, func, true
from sqlmodel import select

from clausier import clock
from clausier.api import description
from clausier.api.deps import JsonBodyDep, PageDep, PrincipalDep, SessionDep, SettingsDep
from clausier.api.errors import DOCUMENTED
from clausier.auth.models import Role
from clausier.auth.scope import convention_condition, require
from clausier.auth.writes import load_writer
from clausier.documents import Page
from clausier.errors import UnknownRecord
from clausier.loading.loader import commit_load
from clausier.loading.read import LoadSummary
from clausier.loading.rows import LoadFile
from clausier.partners import read as partners
from clausier.partners.lookup import buyer_named
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships import periods
from clausier.partnerships import read as partnerships
from clausier.partnerships.models import Convention
from clausier.partnerships.report import coverage_report

router = APIRouter(prefix="/api", tags=["annuaire"], responses=DOCUMENTED)


def _own(principal, column, role: Role):
    if principal.role == Role.admin:
        return true()
    return column == principal.org_id if principal.role == role else false()


def _listing(session, page, query, shape) -> dict:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.limit(page.limit).offset(page.offset)).all()
    return page.wrap([shape(row) for row in rows], total)


@router.get("/buyers", summary="Acheteurs", response_model=Page[partners.Buyer])
def buyers(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict:
    query = select(Buyer).where(_own(principal, Buyer.id, Role.buyer)).order_by(Buyer.name)
    return _listing(
        session,
        page,
        query,
        lambda b: {
            "id": b.id,
            "siret": b.siret,
            "name": b.name,
            "email": b.email,
            "active": b.active,
        },
    )


@router.get("/structures", summary="Structures porteuses", response_model=Page[partners.Structure])
def structures(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict:
    query = (
        select(Structure)
        .where(_own(principal, Structure.id, Role.facilitator))
        .order_by(Structure.ref)
    )
    return _listing(
        session,
        page,
        query,
        lambda s: {
            "ref": s.ref,
            "name": s.name,
            "kind": s.kind,
            "email": s.email,
            "active": s.active,
        },
    )


@router.get(
    "/structures/{ref:ref}/facilitators",
    summary="Les facilitateurs d'une structure",
    response_model=Page[partners.Facilitator],
)
def facilitators(ref: str, session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict:
    structure = session.exec(select(Structure).where(Structure.ref == ref)).first()
    if structure is None or (principal.role != Role.admin and not (
        principal.role == Role.facilitator and principal.org_id == structure.id
    )):  # fmt: skip
        raise UnknownRecord("Structure", ref)
    query = (
        select(Facilitator)
        .where(Facilitator.structure_id == structure.id)
        .order_by(Facilitator.email)
    )
    return _listing(
        session,
        page,
        query,
        lambda f: {"email": f.email, "name": f.name, "active": f.active, "digest": f.digest},
    )


@router.get("/contractors", summary="Titulaires", response_model=Page[partners.Contractor])
def contractors(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict:
    require(principal, Role.contractor)
    query = (
        select(Contractor)
        .where(_own(principal, Contractor.id, Role.contractor))
        .order_by(Contractor.name)
    )
    return _listing(
        session,
        page,
        query,
        lambda c: {"siret": c.siret, "name": c.name, "email": c.email, "active": c.active},
    )


@router.get(
    "/conventions",
    summary="Conventions de partenariat",
    response_model=Page[partnerships.Convention],
)
def conventions(session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict:
    require(principal, Role.buyer, Role.facilitator)
    today = clock.today()  # the page's reach (``auth.scope``), not one of its own
    query = select(Convention).where(convention_condition(principal)).order_by(Convention.ref)
    return _listing(session, page, query, lambda c: periods.convention_document(c, today))


@router.post(
    "/load",
    status_code=201,
    summary="Charger des données (même format que clausier load), tout ou rien",
    description="Un objet JSON, lu une fois l'appelant authentifié : limits.load_bytes au plus "
    "(413 au-delà).",
    openapi_extra=description.body(LoadFile),  # what the loader checks it against
    response_model=LoadSummary,
    response_model_exclude_unset=True,  # a kind the load did not touch is absent
)
def load(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, body: JsonBodyDep
) -> dict:
    writer = load_writer(principal)  # admin only: the historical import
    report = commit_load(
        session, body, name="requête", actor=f"api:{principal.label}", writer=writer,
        settings=settings,
    )  # fmt: skip
    return report.as_dict()


@router.get(
    "/coverage",
    summary="Couverture des marchés et communes sans convention",
    response_model=partnerships.Coverage,
)
def coverage(session: SessionDep, principal: PrincipalDep, buyer: str | None = None) -> dict:
    require(principal, Role.buyer)
    if principal.role == Role.buyer:
        chosen = session.get(Buyer, principal.org_id)
    else:
        chosen = buyer_named(session, buyer) if buyer else None
    return coverage_report(session, today=clock.today(), buyer=chosen)
