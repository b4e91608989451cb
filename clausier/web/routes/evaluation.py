"""The evaluation part of the market page: each beneficiary's outcome and the summary, written by
the facilitators of the structure that follows the market while it is in evaluation."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from clausier import clock
from clausier.auth.policy import Action, require_on_market
from clausier.auth.scope import visible_market
from clausier.beneficiaries import outcomes as evaluation
from clausier.errors import ClausierError
from clausier.http.session import SessionDep
from clausier.web.common import FormDep, WebDep, actor_of, check_csrf, form_text, principal_of
from clausier.web.market_page import market_page

router = APIRouter(include_in_schema=False)


@router.post("/marches/{ref:ref}/evaluation")
def record_evaluation(
    request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    """Each beneficiary's outcome (only those changed are recorded again) and the summary."""
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    market = visible_market(session, principal, ref)
    require_on_market(principal, Action.evaluate, market)
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
    early_reason = form_text(form.get("motif-anticipe"))
    posted = {"outcomes": outcomes, "summary": summary, "early_reason": early_reason}
    if 0 < len(summary) < 3:
        posted["error"] = {"anchor": "bilan", "message": "le bilan est trop court (3 caractères au moins)"}  # fmt: skip
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    new_summary = summary if summary and summary != (market.evaluation or "") else None
    try:
        evaluation.record(session, market, summary=new_summary, outcomes=changed,
                          actor=actor_of(web), now=clock.now(),
                          early_reason=early_reason or None)  # fmt: skip
    except ClausierError as error:
        session.rollback()
        posted["error"] = {"anchor": "sorties", "message": str(error)}
        return market_page(request, web, session, ref, status=422, evaluation_form=posted)
    session.commit()
    return RedirectResponse(
        f"/marches/{quote(ref)}?evaluation=enregistree#evaluation", status_code=303
    )
