"""The operator's directory and access pages: buyers, structures and their facilitators,
contractors (created, edited, deactivated and reactivated), and the API tokens (created — the
secret shown once —, listed, revoked). The writes are the domain's (``partners.service``,
``auth.tokens``); these pages read the form, answer with it, and say what happened."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select

from clausier import clock
from clausier.auth import tokens
from clausier.auth.models import ROLE_LABELS, ApiToken, Role
from clausier.auth.policy import Action, require_to
from clausier.clock import PARIS
from clausier.errors import NotFound, Refused, UnknownRecord
from clausier.formatting import fr_number
from clausier.http.session import RowId, SessionDep
from clausier.partners import service as directory
from clausier.partners.models import (
    STRUCTURE_KIND_LABELS,
    Buyer,
    Contractor,
    Facilitator,
    Structure,
)
from clausier.validation.numbers import PENALTY_PER_HOUR
from clausier.web.common import FormDep, WebDep, check_csrf, form_text, principal_of, render
from clausier.web.models import WebSession

router = APIRouter(include_in_schema=False)

CompanyPath = Annotated[Literal["acheteurs", "titulaires"], Path()]
LAST_ROW = 2_147_483_647  # a row's number past it is no row (and overflows the stores' integers)
NoticeId = Annotated[int | None, Query(ge=1, le=LAST_ROW)]
NoticeCount = Annotated[int, Query(ge=0, le=LAST_ROW)]
OrgNotice = Annotated[Literal["desactive", "reactive"] | None, Query()]
LISTED = 100  # rows of each kind on the directory's page; a search finds the others
TOKENS_LISTED = 200
SUGGESTED = 500  # organisations of each kind offered as the token's; the others are typed

# the companies known by their SIRET: the address of their pages, and their words
COMPANIES = {
    "acheteurs": {"kind": "buyer", "model": Buyer, "one": "acheteur", "title": "Acheteurs",
                  "new": "Nouvel acheteur", "article": "l'acheteur"},
    "titulaires": {"kind": "contractor", "model": Contractor, "one": "titulaire", "title": "Titulaires",
                   "new": "Nouveau titulaire", "article": "le titulaire"},
}  # fmt: skip
TOKEN_FIELDS = {"role": "rôle", "org": "organisation", "expires": "expiration"}


def _admin(web: WebSession, csrf: str | None = None) -> None:
    require_to(principal_of(web), Action.manage_directory)
    if csrf is not None:
        check_csrf(web, csrf)


def _errors(problems: list[tuple[str, str]], prefix: str = "") -> tuple[list[dict], dict[str, str]]:
    """The summary's lines (each a link to its field, whose id is its name after ``prefix``)
    and each field's own message."""
    labels = directory.FIELD_LABELS | TOKEN_FIELDS
    summary = [{"anchor": prefix + f, "field": labels.get(f, f), "message": m} for f, m in problems]
    return summary, {field: message for field, message in reversed(problems)}


def _expected(form, *fields: str) -> dict[str, str]:
    """The values the edit form was filled from (``avant_…``), to refuse a lost update."""
    return {
        field: form_text(form.get(f"avant_{field}")) for field in fields if f"avant_{field}" in form
    }


def _refusal(error: directory.DirectoryRefused, default: str) -> list[tuple[str, str]]:
    return [(error.field or default, str(error))]


# --- the directory ------------------------------------------------------------------------------


def _search(query, column, q: str):
    return query.where(func.lower(column).contains(q.lower(), autoescape=True)) if q else query


@router.get("/annuaire")
def directory_page(request: Request, web: WebDep, session: SessionDep, q: str = "") -> Response:
    _admin(web)
    q = q.strip()[:100]
    active = (
        select(Facilitator.structure_id, func.count().label("people"))
        .where(Facilitator.active)
        .group_by(Facilitator.structure_id)
        .subquery()
    )
    sections = []
    for path, spec in COMPANIES.items():
        model = spec["model"]
        query = _search(select(model), model.name, q)
        sections.append({
            "path": path, **spec, "total": _count(session, query),
            "rows": session.exec(query.order_by(model.name).limit(LISTED)).all(),
        })  # fmt: skip
    query = _search(select(Structure), Structure.name, q)
    structures = session.exec(
        _search(select(Structure, func.coalesce(active.c.people, 0)), Structure.name, q)
        .outerjoin(active, active.c.structure_id == Structure.id)
        .order_by(Structure.name)
        .limit(LISTED)
    ).all()
    return render(
        request, "annuaire.html", web, q=q, buyers=sections[0], contractors=sections[1],
        structures=structures, structures_total=_count(session, query), listed=LISTED,
        kinds=STRUCTURE_KIND_LABELS,
    )  # fmt: skip


def _count(session: Session, query) -> int:
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def _company_page(
    request: Request, web: WebSession, path: str, *, org=None, values: dict | None = None,
    problems: list[tuple[str, str]] = (), status: int = 200, saved: bool = False,
    done: str | None = None, refusal: str | None = None,
) -> Response:  # fmt: skip
    spec = COMPANIES[path]
    if values is None:
        values = {"siret": org.siret, "name": org.name, "email": org.email} if org else {}
        if org is not None and getattr(org, "penalty_per_hour", None) is not None:
            values["penalty_per_hour"] = fr_number(org.penalty_per_hour)
    errors, field_errors = _errors(list(problems))
    return render(
        request, "annuaire_fiche.html", web, status=status, spec=spec, path=path, org=org,
        values=values, errors=errors, field_errors=field_errors, saved=saved, done=done,
        refusal=refusal,
    )  # fmt: skip


def _withheld(count: int) -> str:
    return (" ; " + _several(count, "message en attente retenu", "messages en attente retenus")
            if count else "")  # fmt: skip


def _org_notice(
    what: str, state: str | None, withheld: int, *, feminine: bool = False, more: str = ""
) -> str | None:
    """What deactivating or reactivating an organisation did, said once back on its page."""
    e = "e" if feminine else ""
    if state == "reactive":
        return (f"{what} : réactivé{e} ; ses jetons non révoqués fonctionnent de nouveau, et "
                f"l'on se connecte en son nom avec un nouveau lien{more}.")  # fmt: skip
    if state == "desactive":
        return (f"{what} : désactivé{e} ; plus personne ne se connecte en son nom, ses jetons ne "
                f"fonctionnent plus{_withheld(withheld)}{more}.")  # fmt: skip
    return None


# --- structures and their facilitators ----------------------------------------------------------


def _structure(session: Session, structure_id: int) -> Structure:
    structure = session.get(Structure, structure_id)
    if structure is None:
        raise UnknownRecord("Structure", str(structure_id))
    return structure


def _facilitator(session: Session, facilitator_id: int) -> Facilitator:
    person = session.get(Facilitator, facilitator_id)
    if person is None:
        raise UnknownRecord("Facilitateur", str(facilitator_id))
    return person


def _several(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _facilitator_notice(
    session: Session, structure_id: int, deactivated: int | None, reactivated: int | None,
    tasks: int, withheld: int,
) -> str | None:  # fmt: skip
    """What the last action on a facilitator did, said once back on its structure's page."""
    person = session.get(Facilitator, deactivated or reactivated or 0)
    if person is None or person.structure_id != structure_id:
        return None
    if reactivated:
        return f"{person.name} : compte réactivé ; cette personne se connecte avec un nouveau lien."
    given = (_several(tasks, "tâche ouverte rendue", "tâches ouvertes rendues") + " à la structure, à prendre"
             if tasks else "aucune tâche ouverte à rendre")  # fmt: skip
    text = (f"{person.name} : compte désactivé ; cette personne ne peut plus se connecter ni "
            f"recevoir de message ; {given}")  # fmt: skip
    if withheld:
        text += " ; " + _several(
            withheld, "message en attente retenu", "messages en attente retenus"
        )
    return text + "."


def _structure_page(
    request: Request, web: WebSession, session: Session, structure: Structure | None = None,
    *, values: dict | None = None, problems: list[tuple[str, str]] = (), person: dict | None = None,
    person_problems: list[tuple[str, str]] = (), status: int = 200, saved: bool = False,
    done: str | None = None, refusal: str | None = None,
) -> Response:  # fmt: skip
    if values is None:
        values = ({"ref": structure.ref, "name": structure.name, "kind": structure.kind,
                   "email": structure.email} if structure else {})  # fmt: skip
    people = []
    if structure is not None:
        people = session.exec(
            select(Facilitator).where(Facilitator.structure_id == structure.id)
            .order_by(Facilitator.active.desc(), Facilitator.name)
        ).all()  # fmt: skip
    errors, field_errors = _errors(list(problems))
    person_errors, person_field_errors = _errors(list(person_problems), prefix="person-")
    return render(
        request, "annuaire_structure.html", web, status=status, structure=structure,
        values=values, errors=errors, field_errors=field_errors, people=people,
        person=person or {"digest": True}, person_errors=person_errors,
        person_field_errors=person_field_errors, kinds=STRUCTURE_KIND_LABELS, saved=saved,
        done=done, refusal=refusal,
    )  # fmt: skip


@router.get("/annuaire/structures/nouveau")
def new_structure(request: Request, web: WebDep, session: SessionDep) -> Response:
    _admin(web)
    return _structure_page(request, web, session)


@router.post("/annuaire/structures")
def create_structure(request: Request, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    _admin(web, form_text(form.get("csrf")))
    values = {field: form_text(form.get(field)) for field in ("ref", "name", "kind", "email")}
    try:
        structure = directory.create_structure(session, **values)
    except directory.FieldProblems as error:
        return _structure_page(
            request, web, session, values=values, problems=error.problems, status=422
        )
    except directory.DirectoryRefused as error:
        return _structure_page(
            request, web, session, values=values, problems=_refusal(error, "ref"), status=409
        )
    session.commit()
    return RedirectResponse(f"/annuaire/structures/{structure.id}?enregistre=1", status_code=303)


@router.get("/annuaire/structures/{structure_id}")
def structure_page(
    request: Request, web: WebDep, session: SessionDep, structure_id: RowId,
    enregistre: bool = False, desactive: NoticeId = None, reactive: NoticeId = None,
    taches: int = 0, retenus: int = 0, etat: OrgNotice = None, personnes: NoticeCount = 0,
) -> Response:  # fmt: skip
    _admin(web)
    structure = _structure(session, structure_id)
    done = _facilitator_notice(session, structure_id, desactive, reactive, taches, retenus)
    if etat == "desactive":
        more = " ; " + (_several(personnes, "facilitateur désactivé", "facilitateurs désactivés")
                        + " avec elle" if personnes else "aucun facilitateur actif")  # fmt: skip
        done = _org_notice(f"La structure « {structure.name} »", etat, retenus, feminine=True,
                           more=more)  # fmt: skip
    elif etat == "reactive":
        done = _org_notice(f"La structure « {structure.name} »", etat, 0, feminine=True,
                           more=" ; ses facilitateurs restent désactivés : réactivez chacun d'eux")  # fmt: skip
    return _structure_page(request, web, session, structure, saved=enregistre, done=done)


@router.post("/annuaire/structures/{structure_id}/desactiver")
def deactivate_structure(
    request: Request, web: WebDep, session: SessionDep, structure_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    try:
        withdrawal = directory.deactivate_structure(session, structure_id, now=clock.now())
    except directory.DirectoryRefused as error:
        session.rollback()
        return _structure_page(request, web, session, _structure(session, structure_id),
                               refusal=str(error), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(
        f"/annuaire/structures/{structure_id}?etat=desactive&retenus={withdrawal.messages}"
        f"&personnes={withdrawal.facilitators}",
        status_code=303,
    )


@router.post("/annuaire/structures/{structure_id}/reactiver")
def reactivate_structure(
    request: Request, web: WebDep, session: SessionDep, structure_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    try:
        directory.reactivate_org(session, "structure", structure_id)
    except directory.DirectoryRefused as error:
        session.rollback()
        return _structure_page(request, web, session, _structure(session, structure_id),
                               refusal=str(error), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/annuaire/structures/{structure_id}?etat=reactive", status_code=303)


@router.post("/annuaire/structures/{structure_id}")
def edit_structure(
    request: Request, web: WebDep, session: SessionDep, structure_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    structure = _structure(session, structure_id)
    values = {"ref": structure.ref} | {f: form_text(form.get(f)) for f in ("name", "kind", "email")}
    expected = _expected(form, "name", "kind", "email")
    try:
        directory.edit_structure(session, structure_id, name=values["name"], kind=values["kind"],
                                 email=values["email"], expected=expected)  # fmt: skip
    except directory.FieldProblems as error:
        session.rollback()
        return _structure_page(
            request, web, session, structure, values=values, problems=error.problems, status=422
        )
    except directory.DirectoryRefused as error:
        session.rollback()
        return _structure_page(request, web, session, structure, values=values,
                               problems=_refusal(error, "name"), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/annuaire/structures/{structure_id}?enregistre=1", status_code=303)


@router.post("/annuaire/structures/{structure_id}/facilitateurs")
def create_facilitator(
    request: Request, web: WebDep, session: SessionDep, structure_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    structure = _structure(session, structure_id)
    person = {"name": form_text(form.get("name")), "email": form_text(form.get("email")),
              "digest": form.get("digest") == "oui"}  # fmt: skip
    try:
        created = directory.create_facilitator(session, structure_id, **person)
    except directory.FieldProblems as error:
        session.rollback()
        return _structure_page(request, web, session, structure, person=person,
                               person_problems=error.problems, status=422)  # fmt: skip
    except directory.DirectoryRefused as error:
        session.rollback()
        return _structure_page(request, web, session, structure, person=person,
                               person_problems=_refusal(error, "email"), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/annuaire/facilitateurs/{created.id}?enregistre=1", status_code=303)


def _facilitator_page(
    request: Request, web: WebSession, session: Session, person: Facilitator, *,
    values: dict | None = None, problems: list[tuple[str, str]] = (), status: int = 200,
    saved: bool = False,
) -> Response:  # fmt: skip
    if values is None:
        values = {"name": person.name, "email": person.email, "structure": person.structure_id,
                  "digest": person.digest}  # fmt: skip
    errors, field_errors = _errors(list(problems))
    structures = session.exec(select(Structure).order_by(Structure.name)).all()
    return render(
        request, "annuaire_facilitateur.html", web, status=status, person=person,
        structure=session.get(Structure, person.structure_id), structures=structures,
        values=values, errors=errors, field_errors=field_errors, saved=saved,
    )  # fmt: skip


@router.get("/annuaire/facilitateurs/{facilitator_id}")
def facilitator_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    facilitator_id: RowId,
    enregistre: bool = False,
) -> Response:
    _admin(web)
    return _facilitator_page(
        request, web, session, _facilitator(session, facilitator_id), saved=enregistre
    )


@router.post("/annuaire/facilitateurs/{facilitator_id}")
def edit_facilitator(
    request: Request, web: WebDep, session: SessionDep, facilitator_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    raw = form_text(form.get("structure"))  # out of the rows' range: none, the domain says so
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
    structure_id = number if number <= LAST_ROW else 0
    values = {"name": form_text(form.get("name")), "email": form_text(form.get("email")),
              "structure": structure_id, "digest": form.get("digest") == "oui"}  # fmt: skip
    expected = _expected(form, "name", "email", "structure_id", "digest")
    try:
        directory.edit_facilitator(
            session, facilitator_id, name=values["name"], email=values["email"],
            structure_id=structure_id, digest=values["digest"], now=clock.now(), expected=expected,
        )  # fmt: skip
    except directory.FieldProblems as error:
        session.rollback()
        return _facilitator_page(request, web, session, _facilitator(session, facilitator_id),
                                 values=values, problems=error.problems, status=422)  # fmt: skip
    except directory.DirectoryRefused as error:
        session.rollback()
        return _facilitator_page(request, web, session, _facilitator(session, facilitator_id),
                                 values=values, problems=_refusal(error, "name"), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(
        f"/annuaire/facilitateurs/{facilitator_id}?enregistre=1", status_code=303
    )


@router.post("/annuaire/facilitateurs/{facilitator_id}/desactiver")
def deactivate_facilitator(
    web: WebDep, session: SessionDep, facilitator_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    handover = directory.deactivate_facilitator(session, facilitator_id, now=clock.now())
    structure_id = _facilitator(session, facilitator_id).structure_id
    session.commit()
    return RedirectResponse(
        f"/annuaire/structures/{structure_id}?desactive={facilitator_id}"
        f"&taches={handover.tasks}&retenus={handover.messages}",
        status_code=303,
    )


@router.post("/annuaire/facilitateurs/{facilitator_id}/reactiver")
def reactivate_facilitator(
    web: WebDep, session: SessionDep, facilitator_id: RowId, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    person = directory.reactivate_facilitator(session, facilitator_id)
    structure_id = person.structure_id
    session.commit()
    return RedirectResponse(
        f"/annuaire/structures/{structure_id}?reactive={facilitator_id}", status_code=303
    )


# --- buyers and contractors (after the structures' fixed addresses) -------------------------


def _penalty(form, kind: str) -> tuple[Decimal | None, tuple[str, str] | None]:
    """A buyer's penalty per missing hour as typed (« 30 », « 30,50 € »; empty: none), by the
    rule of a load file's and an API body's, or the problem with it."""
    text = form_text(form.get("penalty_per_hour"))
    if kind != "buyer" or not text:
        return None, None
    try:
        return PENALTY_PER_HOUR.read(text), None
    except ValueError as error:
        return None, ("penalty_per_hour", f"« {text} » : {error}")


@router.get("/annuaire/{path}/nouveau")
def new_company(request: Request, web: WebDep, path: CompanyPath) -> Response:
    _admin(web)
    return _company_page(request, web, path)


@router.post("/annuaire/{path}")
def create_company(
    request: Request, web: WebDep, session: SessionDep, path: CompanyPath, form: FormDep
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    spec = COMPANIES[path]
    values = {field: form_text(form.get(field)) for field in ("siret", "name", "email")}
    penalty, problem = _penalty(form, spec["kind"])
    try:
        if problem:
            raise directory.FieldProblems([problem])
        org = directory.create_company(session, spec["kind"], **values, penalty_per_hour=penalty)
    except directory.FieldProblems as error:
        values["penalty_per_hour"] = form_text(form.get("penalty_per_hour"))
        return _company_page(request, web, path, values=values, problems=error.problems, status=422)
    except directory.DirectoryRefused as error:
        return _company_page(
            request, web, path, values=values, problems=_refusal(error, "siret"), status=409
        )
    session.commit()
    return RedirectResponse(f"/annuaire/{path}/{org.id}?enregistre=1", status_code=303)


@router.get("/annuaire/{path}/{org_id}")
def company_page(
    request: Request, web: WebDep, session: SessionDep, path: CompanyPath, org_id: RowId,
    enregistre: bool = False, etat: OrgNotice = None, retenus: NoticeCount = 0,
) -> Response:  # fmt: skip
    _admin(web)
    org = _company(session, path, org_id)
    what = f"{COMPANIES[path]['article'].capitalize()} « {org.name} »"
    return _company_page(request, web, path, org=org, saved=enregistre,
                         done=_org_notice(what, etat, retenus))  # fmt: skip


def _company(session: Session, path: str, org_id: int):
    spec = COMPANIES[path]
    org = session.get(spec["model"], org_id)
    if org is None:
        raise UnknownRecord(spec["one"].capitalize(), str(org_id))
    return org


@router.post("/annuaire/{path}/{org_id}/desactiver")
def deactivate_company(
    request: Request, web: WebDep, session: SessionDep, path: CompanyPath, org_id: RowId,
    form: FormDep,
) -> Response:  # fmt: skip
    _admin(web, form_text(form.get("csrf")))
    deactivate = {"buyer": directory.deactivate_buyer,
                  "contractor": directory.deactivate_contractor}[COMPANIES[path]["kind"]]  # fmt: skip
    try:
        withdrawal = deactivate(session, org_id, now=clock.now())
    except directory.DirectoryRefused as error:
        session.rollback()
        return _company_page(request, web, path, org=_company(session, path, org_id),
                             refusal=str(error), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(
        f"/annuaire/{path}/{org_id}?etat=desactive&retenus={withdrawal.messages}", status_code=303
    )


@router.post("/annuaire/{path}/{org_id}/reactiver")
def reactivate_company(
    request: Request, web: WebDep, session: SessionDep, path: CompanyPath, org_id: RowId,
    form: FormDep,
) -> Response:  # fmt: skip
    _admin(web, form_text(form.get("csrf")))
    try:
        directory.reactivate_org(session, COMPANIES[path]["kind"], org_id)
    except directory.DirectoryRefused as error:
        session.rollback()
        return _company_page(request, web, path, org=_company(session, path, org_id),
                             refusal=str(error), status=409)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/annuaire/{path}/{org_id}?etat=reactive", status_code=303)


@router.post("/annuaire/{path}/{org_id}")
def edit_company(
    request: Request,
    web: WebDep,
    session: SessionDep,
    path: CompanyPath,
    org_id: RowId,
    form: FormDep,
) -> Response:
    _admin(web, form_text(form.get("csrf")))
    spec = COMPANIES[path]
    org = session.get(spec["model"], org_id)
    if org is None:
        raise UnknownRecord(spec["one"].capitalize(), str(org_id))
    values = {
        "siret": org.siret,
        "name": form_text(form.get("name")),
        "email": form_text(form.get("email")),
    }
    expected = _expected(form, "name", "email", "penalty_per_hour")
    penalty, problem = _penalty(form, spec["kind"])
    values["penalty_per_hour"] = form_text(form.get("penalty_per_hour"))
    try:
        if problem:
            raise directory.FieldProblems([problem])
        directory.edit_company(session, spec["kind"], org_id, name=values["name"],
                               email=values["email"], expected=expected,
                               penalty_per_hour=penalty)  # fmt: skip
    except directory.FieldProblems as error:
        session.rollback()
        return _company_page(
            request, web, path, org=org, values=values, problems=error.problems, status=422
        )
    except directory.DirectoryRefused as error:
        session.rollback()
        return _company_page(
            request, web, path, org=org, values=values, problems=_refusal(error, "name"), status=409
        )
    session.commit()
    return RedirectResponse(f"/annuaire/{path}/{org_id}?enregistre=1", status_code=303)


# --- API tokens ---------------------------------------------------------------------------------


def _organisations(session: Session) -> list[tuple[str, str]]:
    """Suggestions for the token's organisation, as ``tokens.create`` reads it (a SIRET, a
    structure's reference): the first ``SUGGESTED`` of each kind; any other is typed."""
    kinds = ((Buyer, Buyer.siret, "acheteur"), (Structure, Structure.ref, "structure"),
             (Contractor, Contractor.siret, "titulaire"))  # fmt: skip
    return [
        (key, f"{name} ({word})")
        for model, column, word in kinds
        for key, name in session.exec(
            select(column, model.name).order_by(model.name).limit(SUGGESTED)
        )
    ]


def _state(row: ApiToken, now: datetime) -> tuple[str, str]:
    if row.revoked_at is not None:
        return "revoked", "révoqué"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired", "expiré"
    return "valid", "en vigueur"


def _access_page(
    request: Request, web: WebSession, session: Session, *, values: dict | None = None,
    problems: list[tuple[str, str]] = (), status: int = 200, revoked: int | None = None,
) -> Response:  # fmt: skip
    now = clock.now()
    rows = session.exec(
        select(ApiToken)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(TOKENS_LISTED)
    ).all()
    listed = [{"row": row, "role": ROLE_LABELS.get(Role(row.role), row.role), "state": _state(row, now),
               "mine": row.id == web.token_id} for row in rows]  # fmt: skip
    errors, field_errors = _errors(list(problems))
    return render(
        request, "acces.html", web, status=status, tokens=listed,
        total=_count(session, select(ApiToken)), listed_max=TOKENS_LISTED,
        roles={role.value: ROLE_LABELS[role] for role in Role}, orgs=_organisations(session),
        values=values or {}, errors=errors, field_errors=field_errors,
        revoked=revoked, today=clock.today().isoformat(),
    )  # fmt: skip


@router.get("/acces")
def access_page(
    request: Request, web: WebDep, session: SessionDep, revoque: int | None = None,
    role: str = "", org: str = "",
) -> Response:  # fmt: skip
    """The tokens; ``role`` and ``org`` fill the creation form (a directory page's link)."""
    _admin(web)
    values = {"role": role[:20], "org": org[:300]}
    return _access_page(request, web, session, revoked=revoque, values=values)


def _expiry(raw: str) -> date | None:
    for parse in (date.fromisoformat, lambda text: date(*map(int, reversed(text.split("/"))))):
        try:
            return parse(raw)
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def _of(role: Role) -> str:
    """« d'acheteur », « de titulaire »: a token's role after « jeton »."""
    label = ROLE_LABELS[role]
    return f"d'{label}" if label[0] in "aeiouéh" else f"de {label}"


def _token_problems(role: str, org: str, expires: str, today: date) -> list[tuple[str, str]]:
    problems = []
    if role not in {r.value for r in Role}:
        problems.append(("role", "choisissez le rôle du jeton"))
    elif role != Role.admin.value and not org:
        wanted = {"buyer": "l'acheteur (son SIRET ou son nom)", "facilitator": "la structure (sa référence ou son nom)",
                  "contractor": "le titulaire (son SIRET)"}[role]  # fmt: skip
        problems.append(("org", f"indiquez {wanted} pour un jeton {_of(Role(role))}"))
    elif role == Role.admin.value and org:
        problems.append(
            (
                "org",
                "un jeton d'administrateur n'est lié à aucune organisation : laissez ce champ vide",
            )
        )
    if expires:
        day = _expiry(expires)
        if day is None:
            problems.append(("expires", f"« {expires} » n'est pas une date : attendu JJ/MM/AAAA"))
        elif day <= today:
            problems.append(("expires", "la date d'expiration doit être postérieure à aujourd'hui"))
    return problems


@router.post("/acces")
def create_token(request: Request, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    _admin(web, form_text(form.get("csrf")))
    values = {field: form_text(form.get(field)) for field in ("role", "org", "expires")}
    problems = _token_problems(values["role"], values["org"], values["expires"], clock.today())
    if problems:
        return _access_page(request, web, session, values=values, problems=problems, status=422)
    role = Role(values["role"])
    day = _expiry(values["expires"]) if values["expires"] else None
    expires_at = (datetime.combine(day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
                  if day else None)  # fmt: skip
    try:  # the organisation found as the CLI finds it (``clausier token create --org``)
        secret, row = tokens.create(
            session, role=role, org=values["org"] or None, expires_at=expires_at, now=clock.now()
        )
    except (NotFound, Refused) as error:  # « Acheteur introuvable : « … » », « … désactivé »
        session.rollback()
        return _access_page(request, web, session, values=values, problems=[("org", str(error))],
                            status=422)  # fmt: skip
    session.commit()
    response = render(
        request, "acces_jeton.html", web, status=201, secret=secret, row=row,
        of_role=_of(role),
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"  # the secret is never kept, not even by a cache
    return response


@router.post("/acces/{token_id}/revoquer")
def revoke_token(web: WebDep, session: SessionDep, token_id: RowId, form: FormDep) -> Response:
    _admin(web, form_text(form.get("csrf")))
    tokens.revoke(session, token_id, now=clock.now())
    session.commit()
    return RedirectResponse(f"/acces?revoque={token_id}", status_code=303)
