"""The pages of a clause's execution: the contractor's monthly declarations, the facilitators'
review of them, their register of beneficiaries, and the evaluation part of the market page.

A contractor reads beneficiary codes only, and only its own lots (anything else is not found);
a name appears only to the facilitators of the structure that registered the person.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from clausier import clock
from clausier.api.deps import RowId
from clausier.auth.models import Role
from clausier.auth.scope import lot_in_scope, visible_market
from clausier.auth.tokens import Principal
from clausier.beneficiaries import outcomes as evaluation
from clausier.beneficiaries import service as beneficiaries
from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
    OUTCOMES,
    PUBLICS,
    SEXES,
)
from clausier.declarations import csv_upload, pace, periods
from clausier.declarations.models import (
    LINE_STATUS_LABELS,
    DeclarationLine,
    LineStatus,
    Statement,
)
from clausier.declarations.service import (
    Decision,
    Declared,
    LineInput,
    check_lot_open,
    declare,
    review,
)
from clausier.errors import ClausierError, LoadErrors, LoadProblem, NotFound
from clausier.formatting import fr_number
from clausier.markets.models import Lot, Market
from clausier.offers.clause import MODALITIES
from clausier.partners.models import Contractor, Facilitator, Structure
from clausier.referential.service import place_of
from clausier.web import auth
from clausier.web.models import WebSession
from clausier.web.pages import SessionDep, WebDep, _check_csrf, _page
from notifications.schedule import declaration_deadline, months
from workflow.lifecycle import STATE_LABELS

router = APIRouter(include_in_schema=False)

MAX_ROWS = 300  # lines of one month's form
MAX_CSV_BYTES = 2_000_000
REVIEW_LIMIT = 500  # lines on the review page at once
ROW_FIELDS = ("beneficiary", "modality", "hours", "contract_type")
FIELD_LABELS = {
    "beneficiary": "bénéficiaire",
    "modality": "modalité",
    "hours": "heures",
    "contract_type": "type de contrat",
    "period": "mois",
    "colonnes": "colonnes",
    "fichier": "fichier",
}
MONTH_STATES = {
    "declared": "déclaré",
    "due": "à déclarer",
    "late": "en retard",
    "upcoming": "à venir",
    "missing": "non déclaré",
}
_ROW_KEY = re.compile(rf"^({'|'.join(ROW_FIELDS)}|remove)-(\d{{1,4}})$")
_SAVED = re.compile(r"^(\d{1,4})\.(\d{1,4})\.(\d{1,4})\.(\d{1,4})$")


async def _form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=MAX_ROWS * 5 + 20)


FormDep = Annotated[FormData, Depends(_form)]


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _actor(web: WebSession) -> str:
    return web.person_email or f"{web.role}:{web.label}"


def _message(request: Request, web: WebSession, status: int, title: str, text: str) -> Response:
    return _page(request, "message.html", web, status=status, title=title, message=text)


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count <= 1 else plural}"


def _hours_text(hours: Decimal) -> str:
    """« 35 », « 12,5 »: as people type them back."""
    if hours == hours.to_integral_value():
        return str(int(hours))
    return f"{hours.normalize():f}".replace(".", ",")


def _visible_lot(session: Session, principal: Principal, lot_id: int) -> tuple[Lot, Market] | None:
    try:
        return lot_in_scope(session, principal, lot_id)
    except NotFound:
        return None


def _lot_not_found(request: Request, web: WebSession, lot_id: int) -> Response:
    return _message(request, web, 404, "Lot introuvable", f"Lot {lot_id} introuvable.")


# --- the contractor's lots and months --------------------------------------------------------


@router.get("/lots")
def own_lots(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = auth.principal_of(web)
    if principal.role != Role.contractor:
        return _message(request, web, 403, "Accès réservé",
                        "Cette page liste les lots d'un titulaire ; les relevés se consultent depuis la page de chaque marché.")  # fmt: skip
    rows = session.exec(
        select(Lot, Market)
        .join(Market, Market.id == Lot.market_id)
        .where(Lot.contractor_id == principal.org_id)
        .order_by(Market.ref, Lot.number)
    ).all()
    return _page(request, "lots.html", web, rows=rows, labels=STATE_LABELS)


@router.get("/lots/{lot_id}/declarations")
def lot_months(request: Request, lot_id: RowId, web: WebDep, session: SessionDep) -> Response:
    """Every month of the execution period, declared or not, late or not."""
    principal = auth.principal_of(web)
    found = _visible_lot(session, principal, lot_id)
    if found is None:
        return _lot_not_found(request, web, lot_id)
    lot, market = found
    settings, today = request.app.state.settings, clock.today()
    departement = place_of(session, market.commune_code).departement_code
    declared = set(session.exec(select(Statement.period).where(Statement.lot_id == lot.id)).all())
    figures: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for period, status, hours in session.exec(
        select(DeclarationLine.period, DeclarationLine.status, func.sum(DeclarationLine.hours))
        .where(DeclarationLine.lot_id == lot.id)
        .group_by(DeclarationLine.period, DeclarationLine.status)
    ).all():
        figures[period][status] = Decimal(hours or 0)
    rows = []
    if market.execution_starts_on and market.execution_ends_on:
        for month in months(market.execution_starts_on, market.execution_ends_on):
            code = periods.code(month)
            deadline = declaration_deadline(month, settings.offer.declaration_day, departement)
            if code in declared:
                state = "declared"
            elif month > today.replace(day=1):
                state = "upcoming"
            elif market.state != "execution":
                state = "missing"
            else:
                state = "late" if today > deadline else "due"
            rows.append({"period": code, "label": periods.label(month), "deadline": deadline,
                         "state": state, "state_label": MONTH_STATES[state],
                         "hours": {status: fr_number(value) for status, value in figures[code].items()}})  # fmt: skip
    progress = pace.lot_progress(
        session, market, [lot], today=today, settings=settings, departement=departement
    ).get(lot.id)
    return _page(request, "declarations.html", web, lot=lot, market=market, rows=rows,
                 progress=progress, contractor=_contractor_name(session, lot))  # fmt: skip


def _contractor_name(session: Session, lot: Lot) -> str | None:
    contractor = session.get(Contractor, lot.contractor_id) if lot.contractor_id else None
    return contractor.name if contractor else None


def _blank(number: int) -> dict:
    return {"n": number, "beneficiary": "", "modality": "", "hours": "", "contract_type": ""}


def _saved_message(label: str, saved: str | None) -> str | None:
    match = _SAVED.match(saved or "")
    if match is None:
        return None
    added, changed, unchanged, withdrawn = (int(group) for group in match.groups())
    if not (added or changed or unchanged):
        return f"Relevé de {label} enregistré : aucune heure déclarée ce mois-ci. Merci."
    parts = [
        _plural(added, "ligne ajoutée", "lignes ajoutées") if added else "",
        _plural(changed, "ligne modifiée", "lignes modifiées") if changed else "",
        _plural(withdrawn, "ligne retirée", "lignes retirées") if withdrawn else "",
        _plural(unchanged, "ligne inchangée", "lignes inchangées") if unchanged else "",
    ]
    then = (
        " Le facilitateur va contrôler les lignes nouvelles ou modifiées."
        if added or changed
        else ""
    )
    return f"Relevé de {label} enregistré : {', '.join(p for p in parts if p)}.{then}"


def _month_page(
    request: Request,
    web: WebSession,
    session: Session,
    lot: Lot,
    market: Market,
    period: str,
    *,
    rows: list[dict] | None = None,
    problems: list[LoadProblem] = (),
    from_file: bool = False,
    saved: str | None = None,
    focus: str | None = None,
    status: int = 200,
) -> Response:
    principal = auth.principal_of(web)
    settings, today = request.app.state.settings, clock.today()
    statement = session.exec(
        select(Statement).where(Statement.lot_id == lot.id, Statement.period == period)
    ).first()
    existing = session.exec(
        select(DeclarationLine, Beneficiary)
        .join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        .where(DeclarationLine.lot_id == lot.id, DeclarationLine.period == period)
        .order_by(DeclarationLine.id)
    ).all()
    blocked = _why_closed(market, lot, period, today)
    editable = principal.role in (Role.contractor, Role.admin) and blocked is None
    if rows is None:
        rows = [
            {"n": rank, "beneficiary": person.code, "modality": line.modality,
             "hours": _hours_text(line.hours), "contract_type": line.contract_type or ""}
            for rank, (line, person) in enumerate(existing, start=1)
        ]  # fmt: skip
        if editable:
            rows += [_blank(len(rows) + extra) for extra in range(1, 2 if existing else 4)]
    known = {(person.code, line.modality): line for line, person in existing}
    for row in rows:
        line = known.get((row["beneficiary"].strip().upper(), row["modality"]))
        row["status"] = line.status if line else None
        row["status_label"] = LINE_STATUS_LABELS.get(line.status) if line else "nouvelle"
        row["reason"] = line.review_reason if line else None
    numbers = {row["n"] for row in rows}
    errors, field_errors = [], {}
    for problem in problems:
        anchor = None
        if from_file:
            anchor = "fichier"
        elif problem.line in numbers and problem.field in ROW_FIELDS:
            anchor = f"{problem.field}-{problem.line}"
            field_errors.setdefault(anchor, problem.message)
        label = FIELD_LABELS.get(problem.field, problem.field)
        errors.append(
            {"line": problem.line, "field": label, "message": problem.message, "anchor": anchor}
        )
    departement = place_of(session, market.commune_code).departement_code
    deadline = declaration_deadline(
        periods.parse(period), settings.offer.declaration_day, departement
    )
    allowed = [
        (code, MODALITY_SHORT_LABELS.get(code, code)) for code in lot.modalities or MODALITIES
    ]
    return _page(
        request, "declaration.html", web, status=status, lot=lot, market=market, period=period,
        month=periods.label(period), statement=statement, rows=rows, editable=editable,
        blocked=blocked, errors=errors, field_errors=field_errors, from_file=from_file,
        contractor=_contractor_name(session, lot), deadline=deadline, modalities=allowed,
        saved=_saved_message(periods.label(period), saved), modality_labels=MODALITY_SHORT_LABELS,
        contract_types=CONTRACT_TYPES, focus=focus, declared_lines=len(existing),
    )  # fmt: skip


def _why_closed(market: Market, lot: Lot, period: str, today: date) -> str | None:
    """Why hours cannot be declared here, in French; None when they can."""
    try:
        check_lot_open(market, lot)
    except ClausierError as refused:
        return str(refused)
    problem = periods.problem(
        period, starts=market.execution_starts_on, ends=market.execution_ends_on, today=today
    )
    return f"{problem[0].upper()}{problem[1:]}." if problem else None


@router.get("/lots/{lot_id}/declarations/{period}")
def month_page(
    request: Request,
    lot_id: RowId,
    period: str,
    web: WebDep,
    session: SessionDep,
    enregistre: str | None = None,
) -> Response:
    principal = auth.principal_of(web)
    found = _visible_lot(session, principal, lot_id)
    if found is None:
        return _lot_not_found(request, web, lot_id)
    if periods.parse(period) is None:
        return _message(request, web, 404, "Mois introuvable",
                        f"« {period} » n'est pas un mois : attendu AAAA-MM, par exemple 2027-03.")  # fmt: skip
    lot, market = found
    return _month_page(request, web, session, lot, market, period, saved=enregistre)


def _posted_rows(form: FormData) -> list[dict]:
    rows: dict[int, dict] = {}
    for key, value in form.multi_items():
        match = _ROW_KEY.match(key)
        if match and isinstance(value, str):
            number = int(match[2])
            rows.setdefault(number, _blank(number))[match[1]] = value.strip()
    return [rows[number] for number in sorted(rows)][:MAX_ROWS]


def _lines_of(rows: list[dict], source: str) -> tuple[list[LineInput], list[LoadProblem]]:
    """The filled rows as lines, and the problems of half-filled ones (a blank row is ignored,
    a row marked « retirer » is left out, so withdrawn)."""
    lines, problems = [], []
    for row in rows:
        if row.get("remove") or not (row["beneficiary"] or row["hours"]):
            continue
        missing = [
            (field, message)
            for field, message in (
                ("beneficiary", "code du bénéficiaire manquant (B-…, donné par le facilitateur)"),
                ("modality", "choisissez la modalité"),
                ("hours", "nombre d'heures manquant"),
            )
            if not row[field]
        ]
        problems += [LoadProblem(path=source, line=row["n"], field=field, message=message)
                     for field, message in missing]  # fmt: skip
        if not missing:
            lines.append(LineInput(row["beneficiary"], row["modality"], row["hours"],
                                   row["contract_type"] or None, row["n"]))  # fmt: skip
    if not lines and not problems and not any(row.get("remove") for row in rows):
        first = rows[0]["n"] if rows else 1
        problems.append(LoadProblem(path=source, line=first, field="beneficiary", message=(
            "aucune ligne remplie : pour un mois sans heures d'insertion, "
            "utilisez le bouton « Rien ce mois-ci »")))  # fmt: skip
    return lines, problems


def _uploaded(upload, period: str) -> tuple[str, list[LineInput]]:
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise LoadErrors("fichier", [LoadProblem(path="fichier", line=None, field="fichier",
                                                 message="choisissez un fichier CSV")])  # fmt: skip
    source = upload.filename
    data = upload.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="fichier",
                                              message="fichier trop volumineux (2 Mo au plus)")])  # fmt: skip
    lines = csv_upload.by_period(csv_upload.decode(data), source=source, period=period)[period]
    if not lines:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="fichier", message=(
            "le fichier ne contient aucune ligne d'heures : pour un mois sans heures "
            "d'insertion, utilisez le bouton « Rien ce mois-ci »"))])  # fmt: skip
    return source, lines


def _record(
    request: Request, session: Session, web: WebSession, lot: Lot, period: str,
    lines: list[LineInput], found_before: list[LoadProblem], source: str,
) -> Declared:  # fmt: skip
    """``declare``, reporting the problems found before (half-filled rows) with its own; on any
    problem, nothing is written."""
    try:
        result = declare(
            session, lot=lot, period=period, lines=lines, actor=_actor(web),
            settings=request.app.state.settings, today=clock.today(), now=clock.now(),
            source=source,
        )  # fmt: skip
    except LoadErrors as refused:
        session.rollback()
        problems = sorted([*found_before, *refused.errors], key=lambda p: p.line or 0)
        raise LoadErrors(source, problems) from None
    if found_before:
        session.rollback()
        raise LoadErrors(source, found_before)
    session.commit()
    return result


@router.post("/lots/{lot_id}/declarations/{period}")
def declare_month(
    request: Request, lot_id: RowId, period: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    """One form for the three ways: the rows of the form, « Rien ce mois-ci », a CSV file."""
    _check_csrf(web, _text(form.get("csrf")))
    principal = auth.principal_of(web)
    found = _visible_lot(session, principal, lot_id)
    if found is None or periods.parse(period) is None:
        return _lot_not_found(request, web, lot_id)
    lot, market = found
    if principal.role not in (Role.contractor, Role.admin):
        return _message(request, web, 403, "Déclaration réservée au titulaire",
                        "Seul le titulaire du lot déclare ses heures ; cette page vous est ouverte en lecture.")  # fmt: skip
    action, rows = _text(form.get("action")), _posted_rows(form)
    if action == "ajouter":  # without JavaScript: the same rows, and one more
        number = max((row["n"] for row in rows), default=0) + 1
        return _month_page(request, web, session, lot, market, period,
                           rows=[*rows, _blank(number)], focus=f"beneficiary-{number}")  # fmt: skip
    source, found_before = f"relevé du lot {lot.number} ({period})", []
    try:
        if action == "rien":
            lines = []
        elif action == "fichier":
            source, lines = _uploaded(form.get("fichier"), period)
        else:
            lines, found_before = _lines_of(rows, source)
        result = _record(request, session, web, lot, period, lines, found_before, source)
    except LoadErrors as refused:
        return _month_page(request, web, session, lot, market, period,
                           rows=rows if action not in ("rien", "fichier") else None,
                           problems=refused.errors, from_file=action == "fichier", status=422)  # fmt: skip
    except ClausierError as error:
        session.rollback()
        return _message(request, web, 409, "Déclaration refusée", str(error))
    counts = ".".join(
        str(n) for n in (result.added, result.changed, result.unchanged, result.withdrawn)
    )
    return RedirectResponse(
        f"/lots/{lot.id}/declarations/{period}?enregistre={counts}", status_code=303
    )


# --- the facilitators' review ----------------------------------------------------------------


def _reviewer(principal: Principal) -> bool:
    return principal.role in (Role.facilitator, Role.admin)


def _scope_of(principal: Principal) -> int | None:
    return None if principal.role == Role.admin else principal.org_id


_DONE = {
    "validee": "Ligne validée : ses heures comptent.",
    "rejetee": "Ligne rejetée : le titulaire voit le motif sur son relevé.",
    "tout": "Relevé validé en entier.",
}


def _review_page(
    request: Request,
    web: WebSession,
    session: Session,
    *,
    done: str | None = None,
    error: dict | None = None,
    status: int = 200,
) -> Response:
    principal = auth.principal_of(web)
    query = (
        select(DeclarationLine, Statement, Lot, Market, Beneficiary)
        .join(Statement, Statement.id == DeclarationLine.statement_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .join(Market, Market.id == Lot.market_id)
        .join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        .where(DeclarationLine.status == LineStatus.submitted)
    )
    if _scope_of(principal) is not None:
        query = query.where(Market.structure_id == principal.org_id)
    order = (Market.ref, Lot.number, DeclarationLine.period, Beneficiary.code, DeclarationLine.id)
    found = session.exec(query.order_by(*order).limit(REVIEW_LIMIT + 1)).all()
    holders = {lot.contractor_id for _line, _statement, lot, _market, _person in found}
    contractors = dict(
        session.exec(select(Contractor.id, Contractor.name).where(Contractor.id.in_(holders))).all()
    )
    groups: dict[int, dict] = {}
    for line, statement, lot, market, person in found[:REVIEW_LIMIT]:
        market_group = groups.setdefault(market.id, {"market": market, "lots": {}})
        lot_group = market_group["lots"].setdefault(
            lot.id, {"lot": lot, "contractor": contractors.get(lot.contractor_id), "statements": {}}
        )
        statement_group = lot_group["statements"].setdefault(
            statement.id,
            {"statement": statement, "label": periods.label(statement.period), "lines": []},
        )
        statement_group["lines"].append(_review_line(line, person, principal))
        if error is not None and error["line"] == line.id:
            error["where"] = (
                f"{person.code}, {periods.label(line.period)}, lot {lot.number} du marché "
                f"{market.ref}"
            )
    return _page(
        request, "controle.html", web, status=status, groups=groups,
        done=_DONE.get(done or ""), error=error, truncated=len(found) > REVIEW_LIMIT,
        limit=REVIEW_LIMIT,
    )  # fmt: skip


def _name_for(person: Beneficiary, principal: Principal) -> str | None:
    return beneficiaries.visible_name(person, role=principal.role.value, org_id=principal.org_id)


def _review_line(line: DeclarationLine, person: Beneficiary, principal: Principal) -> dict:
    contract = line.contract_type
    return {
        "id": line.id,
        "code": person.code,
        "name": _name_for(person, principal),
        "public": PUBLICS.get(person.public, person.public),
        "modality": MODALITY_SHORT_LABELS.get(line.modality, line.modality),
        "contract": CONTRACT_TYPES.get(contract, contract) if contract else "—",
        "hours": fr_number(line.hours),
        "period": periods.label(line.period),
    }


def _not_reviewer(request: Request, web: WebSession) -> Response:
    return _message(request, web, 403, "Accès réservé",
                    "Le contrôle des heures déclarées est fait par les facilitateurs.")  # fmt: skip


@router.get("/controle")
def review_page(
    request: Request, web: WebDep, session: SessionDep, fait: str | None = None
) -> Response:
    if not _reviewer(auth.principal_of(web)):
        return _not_reviewer(request, web)
    return _review_page(request, web, session, done=fait)


def _decide(
    request: Request, web: WebSession, session: Session, decisions: list[Decision]
) -> Response | None:
    """Apply ``decisions``; None when done, else the page that says why not."""
    principal = auth.principal_of(web)
    try:
        review(
            session, decisions, actor=_actor(web), settings=request.app.state.settings,
            today=clock.today(), now=clock.now(), structure_id=_scope_of(principal),
        )  # fmt: skip
    except NotFound:
        session.rollback()
        return _message(request, web, 404, "Ligne introuvable",
                        "Cette ligne de déclaration n'existe pas ou n'est pas suivie par votre structure.")  # fmt: skip
    except ClausierError as error:
        session.rollback()
        return _message(request, web, 409, "Contrôle refusé", str(error))
    session.commit()
    return None


@router.post("/controle/lignes/{line_id}")
def review_line(
    request: Request,
    line_id: RowId,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    _check_csrf(web, csrf)
    if not _reviewer(auth.principal_of(web)):
        return _not_reviewer(request, web)
    validate = decision != "rejeter"
    if not validate and len(reason.strip()) < 3:
        return _review_page(request, web, session, status=422, error={
            "line": line_id, "reason": reason,
            "message": "indiquez le motif du rejet (par exemple « heures en double »)"})  # fmt: skip
    refused = _decide(request, web, session, [Decision(line_id, validate, reason)])
    done = "validee" if validate else "rejetee"
    return refused or RedirectResponse(f"/controle?fait={done}", status_code=303)


@router.post("/controle/releves/{statement_id}")
def validate_statement(
    request: Request,
    statement_id: RowId,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()] = "",
    ligne: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """« Tout valider »: the lines of the statement that were on the page."""
    _check_csrf(web, csrf)
    if not _reviewer(auth.principal_of(web)):
        return _not_reviewer(request, web)
    ids = session.exec(
        select(DeclarationLine.id).where(
            DeclarationLine.statement_id == statement_id,
            DeclarationLine.id.in_(ligne or []),
            DeclarationLine.status == LineStatus.submitted,  # not what a colleague just rejected
        )
    ).all()
    if not ids:
        return RedirectResponse("/controle", status_code=303)
    refused = _decide(request, web, session, [Decision(line_id, True) for line_id in ids])
    return refused or RedirectResponse("/controle?fait=tout", status_code=303)


# --- the beneficiaries of a structure --------------------------------------------------------

_REGISTRATION_FIELDS = {
    "public": "public éligible",
    "public_reason": "motif du public",
    "sex": "sexe",
    "age_band": "tranche d'âge",
    "checked_by": "éligibilité vérifiée par",
    "checked_on": "éligibilité vérifiée le",
    "name": "nom",
}
_FIELD_IDS = {"sex": f"sex-{next(iter(SEXES))}", "age_band": f"age_band-{next(iter(AGE_BANDS))}"}


def _structure_of(session: Session, principal: Principal) -> Structure | None:
    return session.get(Structure, principal.org_id) if principal.role == Role.facilitator else None


def _beneficiaries_page(
    request: Request,
    web: WebSession,
    session: Session,
    structure: Structure,
    *,
    values: dict | None = None,
    problems: list[tuple[str, str]] = (),
    issued: str | None = None,
    status: int = 200,
) -> Response:
    principal = auth.principal_of(web)
    people = [
        {
            "code": person.code,
            "name": _name_for(person, principal),
            "public": PUBLICS.get(person.public, person.public),
            "public_reason": person.public_reason,
            "sex": SEXES.get(person.sex, person.sex),
            "age_band": AGE_BANDS.get(person.age_band, person.age_band),
            "checked_by": email,
            "checked_on": person.checked_on,
            "purged": person.purged_at is not None,
        }
        for person, email in beneficiaries.listing(session, structure.id)
    ]
    colleagues = session.exec(
        select(Facilitator)
        .where(Facilitator.structure_id == structure.id, Facilitator.active)
        .order_by(Facilitator.name)
    ).all()
    me = (web.person_email or "").lower()
    if values is None:  # the signed-in facilitator checked it, today
        mine = me in {person.email.lower() for person in colleagues}
        values = {"checked_by": me if mine else "", "checked_on": clock.today().isoformat()}
    errors = [
        {
            "anchor": _FIELD_IDS.get(field, field),
            "field": _REGISTRATION_FIELDS.get(field, field),
            "message": message,
        }
        for field, message in problems
    ]
    return _page(
        request, "beneficiaires.html", web, status=status, structure=structure, people=people,
        colleagues=colleagues, values=values, errors=errors,
        field_errors={field: message for field, message in reversed(problems)}, issued=issued,
        publics=PUBLICS, sexes=SEXES, age_bands=AGE_BANDS,
    )  # fmt: skip


def _not_facilitator(request: Request, web: WebSession) -> Response:
    return _message(request, web, 403, "Accès réservé",
                    "Les bénéficiaires sont enregistrés et consultés par les facilitateurs de leur structure.")  # fmt: skip


@router.get("/beneficiaires")
def beneficiaries_page(
    request: Request, web: WebDep, session: SessionDep, nouveau: str | None = None
) -> Response:
    structure = _structure_of(session, auth.principal_of(web))
    if structure is None:
        return _not_facilitator(request, web)
    issued = None
    if nouveau:
        try:
            issued = beneficiaries.by_code(session, nouveau, structure_id=structure.id).code
        except NotFound:
            issued = None
    return _beneficiaries_page(request, web, session, structure, issued=issued)


def _day(raw: str) -> date | None:
    """ISO (a date field) or JJ/MM/AAAA (typed by hand)."""
    for parse in (date.fromisoformat, lambda text: date(*map(int, reversed(text.split("/"))))):
        try:
            return parse(raw.strip())
        except (TypeError, ValueError):
            continue
    return None


@router.post("/beneficiaires")
def register_beneficiary(
    request: Request,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()] = "",
    public: Annotated[str, Form()] = "",
    public_reason: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    age_band: Annotated[str, Form()] = "",
    checked_by: Annotated[str, Form()] = "",
    checked_on: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    _check_csrf(web, csrf)
    structure = _structure_of(session, auth.principal_of(web))
    if structure is None:
        return _not_facilitator(request, web)
    values = {"public": public, "public_reason": public_reason, "sex": sex, "age_band": age_band,
              "checked_by": checked_by, "checked_on": checked_on, "name": name}  # fmt: skip
    problems = [
        (field, message)
        for field, message in (
            ("public", "choisissez le public éligible"),
            ("sex", "choisissez le sexe"),
            ("age_band", "choisissez la tranche d'âge"),
            ("checked_by", "choisissez qui a vérifié l'éligibilité"),
        )
        if not values[field].strip()
    ]
    day = _day(checked_on)
    if day is None:
        problems.append(("checked_on", "date de vérification invalide : attendu JJ/MM/AAAA"))
    registration = beneficiaries.Registration(
        public=public, sex=sex, age_band=age_band, checked_by=checked_by.strip(),
        checked_on=day or clock.today(), public_reason=public_reason or None, name=name or None,
    )  # fmt: skip
    blank = {field for field, _message in problems}
    problems += [
        (field, message)
        for field, message in beneficiaries.problems_of(registration, today=clock.today())
        if field not in blank
    ]
    if problems:
        return _beneficiaries_page(request, web, session, structure, values=values,
                                   problems=problems, status=422)  # fmt: skip
    try:
        person = beneficiaries.register(
            session, structure, registration, today=clock.today(), now=clock.now()
        )
    except ClausierError as error:
        session.rollback()
        return _beneficiaries_page(request, web, session, structure, values=values,
                                   problems=[("checked_by", str(error))], status=422)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/beneficiaires?nouveau={person.code}", status_code=303)


# --- the evaluation, on the market page -------------------------------------------------------


def _evaluates(principal: Principal, market: Market) -> bool:
    return market.state == "evaluation" and (
        principal.role == Role.admin
        or (principal.role == Role.facilitator and principal.org_id == market.structure_id)
    )


def market_sections(
    request: Request,
    session: Session,
    principal: Principal,
    market: Market,
    *,
    evaluation_form: dict | None = None,
) -> dict:
    """What the execution pages add to the market page: the evaluation form, for the
    facilitators of the structure while the market is in evaluation. ``evaluation_form`` is
    what was posted ("outcomes" by code, "summary") and why it was refused ("error")."""
    if not _evaluates(principal, market):
        return {"evaluation": None}
    recorded = evaluation.outcomes_of(session, market)
    posted = evaluation_form or {}
    chosen = posted.get("outcomes", {})
    people = [
        {
            "code": person.code,
            "name": _name_for(person, principal),
            "public": PUBLICS.get(person.public, person.public),
            "outcome": chosen.get(person.code)
            or (recorded[person.id].outcome if person.id in recorded else ""),
        }
        for person in evaluation.beneficiaries_of(session, market)
    ]
    return {
        "evaluation": {
            "people": people,
            "missing": evaluation.missing_outcomes(session, market),
            "summary": posted.get("summary", market.evaluation or ""),
            "outcomes": OUTCOMES,
            "error": posted.get("error"),
            "saved": request.query_params.get("evaluation") == "enregistree",
        }
    }


@router.post("/marches/{ref}/evaluation")
def record_evaluation(
    request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    """Each beneficiary's outcome (only those changed are recorded again) and the summary."""
    from clausier.web.pages import market_page

    _check_csrf(web, _text(form.get("csrf")))
    principal = auth.principal_of(web)
    try:
        market = visible_market(session, principal, ref)
    except ClausierError as error:
        return _message(request, web, 404, "Marché introuvable", str(error))
    if not _evaluates(principal, market):
        return _message(request, web, 403, "Action refusée", (
            "L'évaluation est renseignée par les facilitateurs de la structure qui suit le "
            "marché, une fois celui-ci en évaluation."))  # fmt: skip
    recorded = evaluation.outcomes_of(session, market)
    people = {person.code: person for person in evaluation.beneficiaries_of(session, market)}
    outcomes = {
        key.removeprefix("sortie-"): value
        for key, value in form.multi_items()
        if key.startswith("sortie-") and isinstance(value, str) and value
    }
    changed = {
        code: outcome
        for code, outcome in outcomes.items()
        if code not in people
        or people[code].id not in recorded
        or recorded[people[code].id].outcome != outcome
    }
    summary = _text(form.get("bilan"))
    posted = {"outcomes": outcomes, "summary": summary}
    if 0 < len(summary) < 3:
        posted["error"] = {"anchor": "bilan", "message": "le bilan est trop court (3 caractères au moins)"}  # fmt: skip
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    new_summary = summary if summary and summary != (market.evaluation or "") else None
    try:
        evaluation.record(session, market, summary=new_summary, outcomes=changed,
                          actor=_actor(web), now=clock.now())  # fmt: skip
    except ClausierError as error:
        session.rollback()
        posted["error"] = {"anchor": "sorties", "message": str(error)}
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    session.commit()
    return RedirectResponse(
        f"/marches/{quote(ref)}?evaluation=enregistree#evaluation", status_code=303
    )
