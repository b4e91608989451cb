"""The facilitators' review of the declared hours, line by line or a whole statement at once:
only validated hours count. A facilitator sees the markets its structure follows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlmodel import Session, select

from clausier import clock
from clausier.auth.models import Role
from clausier.auth.policy import Action, require_to
from clausier.auth.tokens import Principal
from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.service import publics_label, publics_of
from clausier.beneficiaries.vocabulary import (
    BODY_KIND_SHORT_LABELS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
)
from clausier.declarations import bodies, periods
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import Decision, review
from clausier.errors import ClausierError, NotFound
from clausier.formatting import fr_number
from clausier.http.session import RowId
from clausier.markets.models import Lot, Market
from clausier.partners.models import Contractor
from clausier.web.common import (
    SessionDep,
    WebDep,
    actor_of,
    check_csrf,
    message_page,
    name_for,
    principal_of,
    render,
)
from clausier.web.models import WebSession

router = APIRouter(include_in_schema=False)

REVIEW_LIMIT = 500  # lines on the review page at once


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
    principal = principal_of(web)
    query = (
        select(DeclarationLine, Statement, Lot, Market, Beneficiary)
        .join(Statement, Statement.id == DeclarationLine.statement_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .join(Market, Market.id == Lot.market_id)
        .outerjoin(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
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
    publics = publics_of(session, [row[4].id for row in found[:REVIEW_LIMIT] if row[4]])
    for line, statement, lot, market, person in found[:REVIEW_LIMIT]:
        market_group = groups.setdefault(market.id, {"market": market, "lots": {}})
        lot_group = market_group["lots"].setdefault(
            lot.id, {"lot": lot, "contractor": contractors.get(lot.contractor_id), "statements": {}}
        )
        statement_group = lot_group["statements"].setdefault(
            statement.id,
            {"statement": statement, "label": periods.label(statement.period), "lines": []},
        )
        statement_group["lines"].append(
            _review_line(line, person, principal, publics.get(person.id) if person else None)
        )
        if error is not None and error["line"] == line.id:
            error["where"] = (
                f"{_who(line, person)}, {periods.label(line.period)}, lot {lot.number} du marché "
                f"{market.ref}"
            )
    return render(
        request, "controle.html", web, status=status, groups=groups,
        done=_DONE.get(done or ""), error=error, truncated=len(found) > REVIEW_LIMIT,
        limit=REVIEW_LIMIT,
    )  # fmt: skip


def _who(line: DeclarationLine, person: Beneficiary | None) -> str:
    """The person's code, or the invoice a subcontract is counted by."""
    return person.code if person else f"facture {line.invoice_ref}"


def _review_line(
    line: DeclarationLine,
    person: Beneficiary | None,
    principal: Principal,
    publics: list[str] | None = None,
) -> dict:
    contract = line.contract_type
    body = (
        f"{BODY_KIND_SHORT_LABELS.get(line.body_kind, line.body_kind)}, SIRET {line.body_siret}"
        if line.body_kind
        else None
    )
    return {
        "id": line.id,
        "code": _who(line, person),
        "name": name_for(person, principal) if person else None,
        "public": publics_label(publics or []) if person else "—",
        "modality": MODALITY_SHORT_LABELS.get(line.modality, line.modality),
        "body": body,
        "contract": CONTRACT_TYPES.get(contract, contract) if contract else "—",
        "hours": fr_number(line.hours),
        "invoice": (
            f"{fr_number(line.invoice_amount)} € HT ÷ "
            f"{bodies.cost_words(line.hourly_cost, line.hourly_cost_source or '')}"
            if line.invoice_ref
            else None
        ),
        "period": periods.label(line.period),
    }


@router.get("/controle")
def review_page(
    request: Request, web: WebDep, session: SessionDep, fait: str | None = None
) -> Response:
    require_to(principal_of(web), Action.review_hours)
    return _review_page(request, web, session, done=fait)


def _decide(
    request: Request, web: WebSession, session: Session, decisions: list[Decision]
) -> Response | None:
    """Apply ``decisions``; None when done, else the page that says why not."""
    principal = principal_of(web)
    try:
        review(
            session, decisions, actor=actor_of(web), settings=request.app.state.settings,
            today=clock.today(), now=clock.now(), structure_id=_scope_of(principal),
        )  # fmt: skip
    except NotFound:
        session.rollback()
        return message_page(request, web, 404, "Ligne introuvable",
                            "Cette ligne de déclaration n'existe pas ou n'est pas suivie par votre structure.")  # fmt: skip
    except ClausierError as error:
        session.rollback()
        return message_page(request, web, 409, "Contrôle refusé", str(error))
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
    check_csrf(web, csrf)
    require_to(principal_of(web), Action.review_hours)
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
    ligne: Annotated[list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None, Form()] = None,
) -> Response:
    """« Tout valider »: the lines of the statement that were on the page."""
    check_csrf(web, csrf)
    require_to(principal_of(web), Action.review_hours)
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
