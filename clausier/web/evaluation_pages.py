"""The evaluation part of the market page: each beneficiary's outcome and the summary, written by
the facilitators of the structure that follows the market while it is in evaluation."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from clausier import clock
from clausier.auth.models import Role
from clausier.auth.scope import visible_market
from clausier.auth.tokens import Principal
from clausier.beneficiaries import outcomes as evaluation
from clausier.beneficiaries.vocabulary import OUTCOMES, PUBLICS
from clausier.errors import ClausierError
from clausier.markets.models import Market
from clausier.web import auth
from clausier.web.execution_common import FormDep, actor_of, form_text, name_for
from clausier.web.pages import SessionDep, WebDep, _check_csrf, message_page

router = APIRouter(include_in_schema=False)


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
            "name": name_for(person, principal),
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

    _check_csrf(web, form_text(form.get("csrf")))
    principal = auth.principal_of(web)
    try:
        market = visible_market(session, principal, ref)
    except ClausierError as error:
        return message_page(request, web, 404, "Marché introuvable", str(error))
    if not _evaluates(principal, market):
        return message_page(request, web, 403, "Action refusée", (
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
    summary = form_text(form.get("bilan"))
    posted = {"outcomes": outcomes, "summary": summary}
    if 0 < len(summary) < 3:
        posted["error"] = {"anchor": "bilan", "message": "le bilan est trop court (3 caractères au moins)"}  # fmt: skip
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    new_summary = summary if summary and summary != (market.evaluation or "") else None
    try:
        evaluation.record(session, market, summary=new_summary, outcomes=changed,
                          actor=actor_of(web), now=clock.now())  # fmt: skip
    except ClausierError as error:
        session.rollback()
        posted["error"] = {"anchor": "sorties", "message": str(error)}
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    session.commit()
    return RedirectResponse(
        f"/marches/{quote(ref)}?evaluation=enregistree#evaluation", status_code=303
    )
