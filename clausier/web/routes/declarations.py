"""The contractor's monthly declarations of insertion hours: its lots, every month of a lot, and
one month's form (rows typed in, « Rien ce mois-ci », or a CSV file).

A contractor reads beneficiary codes only, and only its own lots (anything else is not found).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from clausier import clock
from clausier.auth.policy import Action, may, require_to
from clausier.auth.scope import lot_in_scope, sees_other_lots
from clausier.auth.tokens import Principal
from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.vocabulary import (
    BODY_KIND_SHORT_LABELS,
    BODY_KINDS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
)
from clausier.config import LimitSettings
from clausier.declarations import bodies, csv_upload, pace, periods
from clausier.declarations.models import LINE_STATUS_LABELS, DeclarationLine, Statement
from clausier.declarations.read import LotProgress
from clausier.declarations.service import Declared, LineInput, check_lot_open, declare
from clausier.errors import ClausierError, LoadErrors, LoadProblem, NotFound
from clausier.formatting import fr_number, fr_size
from clausier.http.session import RowId
from clausier.markets.models import Lot, Market
from clausier.offers.clause import MODALITIES
from clausier.partners.models import Contractor
from clausier.referential.service import place_of
from clausier.web.common import (
    MAX_ROWS,
    FormDep,
    SessionDep,
    WebDep,
    actor_of,
    blank_fields,
    check_csrf,
    form_text,
    message_page,
    principal_of,
    render,
)
from clausier.web.models import WebSession
from notifications.schedule import declaration_deadline, months
from workflow.lifecycle import STATE_LABELS

router = APIRouter(include_in_schema=False)

ROW_FIELDS = ("beneficiary", "modality", "hours", "contract_type", "body_siret", "body_kind",
              "invoice_ref", "invoice_amount")  # fmt: skip
FIELD_LABELS = {
    "beneficiary": "bénéficiaire",
    "modality": "modalité",
    "hours": "heures",
    "contract_type": "type de contrat",
    "body_siret": "SIRET de l'organisme",
    "body_kind": "type d'organisme",
    "invoice_ref": "facture",
    "invoice_amount": "montant HT",
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
_REQUIRED_IN_ROW = {
    "beneficiary": "code du bénéficiaire manquant (B-…, donné par le facilitateur)",
    "modality": "choisissez la modalité",
    "hours": "nombre d'heures manquant",
}
_ROW_KEY = re.compile(rf"^({'|'.join(ROW_FIELDS)}|remove)-(\d{{1,4}})$")
_SAVED = re.compile(r"^(\d{1,4})\.(\d{1,4})\.(\d{1,4})\.(\d{1,4})$")


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
    return message_page(request, web, 404, "Lot introuvable", f"Lot {lot_id} introuvable.")


@router.get("/lots")
def own_lots(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    require_to(principal, Action.list_own_lots)
    rows = session.exec(
        select(Lot, Market)
        .join(Market, Market.id == Lot.market_id)
        .where(Lot.contractor_id == principal.org_id)
        .order_by(Market.ref, Lot.number)
    ).all()
    return render(request, "lots.html", web, rows=rows, labels=STATE_LABELS)


@router.get("/lots/{lot_id}/declarations")
def lot_months(request: Request, lot_id: RowId, web: WebDep, session: SessionDep) -> Response:
    """Every month of the execution period, declared or not, late or not."""
    principal = principal_of(web)
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
            elif market.state != "execution" and (market.state != "evaluation" or today > deadline):
                state = "missing"
            else:
                state = "late" if today > deadline else "due"
            # declarable in execution, and after it until the month's deadline
            still_open = market.state == "execution" or (
                market.state == "evaluation" and today <= deadline
            )
            rows.append({"period": code, "label": periods.label(month), "deadline": deadline,
                         "state": state, "open": still_open, "state_label": MONTH_STATES[state],
                         "hours": {status: fr_number(value) for status, value in figures[code].items()}})  # fmt: skip
    progress = pace.lot_progress(
        session, market, [lot], today=today, settings=settings, departement=departement
    ).get(lot.id)
    # the lot's progress as the market's status document says it (``lots[].progress``)
    progress = LotProgress.model_validate(progress.as_dict()) if progress else None
    return render(request, "declarations.html", web, lot=lot, market=market, rows=rows,
                 progress=progress, contractor=_contractor_name(session, lot))  # fmt: skip


def _contractor_name(session: Session, lot: Lot) -> str | None:
    contractor = session.get(Contractor, lot.contractor_id) if lot.contractor_id else None
    return contractor.name if contractor else None


def _blank(number: int) -> dict:
    return {"n": number} | dict.fromkeys(ROW_FIELDS, "")


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
    total: int = 0,  # of the problems, when they are only the first ones
    from_file: bool = False,
    saved: str | None = None,
    focus: str | None = None,
    status: int = 200,
) -> Response:
    principal = principal_of(web)
    settings, today = request.app.state.settings, clock.today()
    statement = session.exec(
        select(Statement).where(Statement.lot_id == lot.id, Statement.period == period)
    ).first()
    existing = session.exec(
        select(DeclarationLine, Beneficiary)
        .outerjoin(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        .where(DeclarationLine.lot_id == lot.id, DeclarationLine.period == period)
        .order_by(DeclarationLine.id)
    ).all()
    blocked = _why_closed(session, market, lot, period, today, settings.offer.declaration_day)
    editable = may(principal, Action.declare_hours) and blocked is None
    if rows is None:
        rows = [
            {"n": rank, "beneficiary": person.code if person else "", "modality": line.modality,
             "hours": "" if line.invoice_ref else _hours_text(line.hours),
             "contract_type": line.contract_type or "", "body_siret": line.body_siret or "",
             "body_kind": line.body_kind or "", "invoice_ref": line.invoice_ref or "",
             "invoice_amount": _hours_text(line.invoice_amount) if line.invoice_ref else ""}
            for rank, (line, person) in enumerate(existing, start=1)
        ]  # fmt: skip
        if editable:
            rows += [_blank(len(rows) + extra) for extra in range(1, 2 if existing else 4)]
    known = {_row_key(person.code if person else "", line.modality, line.invoice_ref or ""): line
             for line, person in existing}  # fmt: skip
    for row in rows:
        line = known.get(_row_key(row["beneficiary"], row["modality"], row["invoice_ref"]))
        row["invoice"] = _invoice_text(line) if line and line.invoice_ref else None
        row["counted_hours"] = _hours_text(line.hours) if line else None
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
    return render(
        request, "declaration.html", web, status=status, lot=lot, market=market, period=period,
        month=periods.label(period), statement=statement, rows=rows, editable=editable,
        blocked=blocked, errors=errors, field_errors=field_errors, from_file=from_file,
        errors_total=max(total, len(errors)),
        contractor=_contractor_name(session, lot), deadline=deadline, modalities=allowed,
        saved=_saved_message(periods.label(period), saved), modality_labels=MODALITY_SHORT_LABELS,
        contract_types=CONTRACT_TYPES, focus=focus, declared_lines=len(existing),
        body_kinds=BODY_KIND_SHORT_LABELS, body_kind_labels=BODY_KINDS,
    )  # fmt: skip


def _row_key(code: str, modality: str, invoice_ref: str) -> tuple:
    """A person's row by the person and the modality; an invoice's by its reference."""
    invoice_ref = invoice_ref.strip()
    return ("invoice", invoice_ref) if invoice_ref else (code.strip().upper(), modality)


def _invoice_text(line: DeclarationLine) -> str:
    """« 10 000 € HT ÷ 30 € de l'heure (convention CONV-…) = 333,33 h »."""
    cost = bodies.cost_words(line.hourly_cost, line.hourly_cost_source or "")
    return f"{fr_number(line.invoice_amount)} € HT ÷ {cost} = {fr_number(line.hours)} h"


def _why_closed(
    session: Session, market: Market, lot: Lot, period: str, today: date, declaration_day: int
) -> str | None:
    """Why hours cannot be declared here, in French; None when they can."""
    try:
        check_lot_open(
            market, lot, session=session, period=period, today=today,
            declaration_day=declaration_day,
        )  # fmt: skip
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
    principal = principal_of(web)
    found = _visible_lot(session, principal, lot_id)
    if found is None:
        return _lot_not_found(request, web, lot_id)
    if periods.parse(period) is None:
        return message_page(request, web, 404, "Mois introuvable",
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
        invoice = bodies.is_invoice(row["invoice_ref"], row["invoice_amount"])
        if row.get("remove") or not (row["beneficiary"] or row["hours"] or invoice):
            continue
        missing = blank_fields(row, {"modality": _REQUIRED_IN_ROW["modality"]} if invoice else _REQUIRED_IN_ROW)  # fmt: skip
        problems += [LoadProblem(path=source, line=row["n"], field=field, message=message)
                     for field, message in missing]  # fmt: skip
        if not missing:
            lines.append(LineInput(row["beneficiary"] or None, row["modality"], row["hours"] or None,
                                   row["contract_type"] or None, row["n"],
                                   body_siret=row["body_siret"] or None, body_kind=row["body_kind"] or None,
                                   invoice_ref=row["invoice_ref"] or None,
                                   invoice_amount=row["invoice_amount"] or None))  # fmt: skip
    if not lines and not problems and not any(row.get("remove") for row in rows):
        first = rows[0]["n"] if rows else 1
        problems.append(LoadProblem(path=source, line=first, field="beneficiary", message=(
            "aucune ligne remplie : pour un mois sans heures d'insertion, "
            "utilisez le bouton « Rien ce mois-ci »")))  # fmt: skip
    return lines, problems


def _uploaded(upload, period: str, limits: LimitSettings) -> tuple[str, list[LineInput]]:
    """The file's lines, read as a stream from where the form parser spooled it."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise LoadErrors("fichier", [LoadProblem(path="fichier", line=None, field="fichier",
                                                 message="choisissez un fichier CSV")])  # fmt: skip
    source = upload.filename
    if (upload.size or 0) > limits.statement_csv_bytes:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="fichier",
                                              message=f"fichier trop volumineux ({fr_size(limits.statement_csv_bytes)} au plus)")])  # fmt: skip
    months = csv_upload.by_period(
        upload.file, source=source, period=period, max_lines=limits.statement_lines
    )
    lines = months[period]
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
            session, lot=lot, period=period, lines=lines, actor=actor_of(web),
            settings=request.app.state.settings, today=clock.today(), now=clock.now(),
            source=source, show_other_lots=sees_other_lots(principal_of(web)),
        )  # fmt: skip
    except LoadErrors as refused:
        session.rollback()
        problems = sorted([*found_before, *refused.errors], key=lambda p: p.line or 0)
        raise LoadErrors(source, problems, total=len(found_before) + refused.total) from None
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
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    found = _visible_lot(session, principal, lot_id)
    if found is None or periods.parse(period) is None:
        return _lot_not_found(request, web, lot_id)
    lot, market = found
    require_to(principal, Action.declare_hours)
    action, rows = form_text(form.get("action")), _posted_rows(form)
    if action == "ajouter":  # without JavaScript: the same rows, and one more
        number = max((row["n"] for row in rows), default=0) + 1
        return _month_page(request, web, session, lot, market, period,
                           rows=[*rows, _blank(number)], focus=f"beneficiary-{number}")  # fmt: skip
    source, found_before = f"relevé du lot {lot.number} ({period})", []
    try:
        if action == "rien":
            lines = []
        elif action == "fichier":
            source, lines = _uploaded(
                form.get("fichier"), period, request.app.state.settings.limits
            )
        else:
            lines, found_before = _lines_of(rows, source)
        result = _record(request, session, web, lot, period, lines, found_before, source)
    except LoadErrors as refused:
        return _month_page(request, web, session, lot, market, period,
                           rows=rows if action not in ("rien", "fichier") else None,
                           problems=refused.errors, total=refused.total,
                           from_file=action == "fichier", status=422)  # fmt: skip
    except ClausierError as error:
        session.rollback()
        return message_page(request, web, 409, "Déclaration refusée", str(error))
    counts = ".".join(
        str(n) for n in (result.added, result.changed, result.unchanged, result.withdrawn)
    )
    return RedirectResponse(
        f"/lots/{lot.id}/declarations/{period}?enregistre={counts}", status_code=303
    )
