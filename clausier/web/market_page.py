"""The market page: where it stands, its lots, tasks and reminders, and the parts that act on it
(the evaluation, for the facilitators of its structure while it is in evaluation).

The page shows the status document the API answers (``GET /api/markets/{ref}``), built by the
same builder for the same person and validated into the same model (``MarketStatus``); what
the page adds (the person's actions, the evaluation form) goes beside it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from clausier import clock
from clausier.auth.policy import Action, fires, may_on_market
from clausier.auth.scope import visible_market
from clausier.auth.tokens import Principal
from clausier.beneficiaries import outcomes as evaluation
from clausier.beneficiaries.service import publics_label, publics_of
from clausier.beneficiaries.vocabulary import OUTCOME_HINTS, OUTCOMES
from clausier.markets.lots import lots_to_award
from clausier.markets.models import Market
from clausier.markets.read import MarketStatus
from clausier.markets.seen import status_seen_by
from clausier.partners.contractors import contractor_choices
from clausier.web.common import name_for, principal_of, render
from clausier.web.models import WebSession
from workflow.lifecycle import STATE_LABELS, STATES, TRIGGERS

MAIN_PATH = [s.name for s in STATES if not s.final] + ["closed"]


def market_page(
    request: Request,
    web: WebSession,
    session: Session,
    ref: str,
    *,
    status: int = 200,
    action: dict | None = None,
    **sections,
) -> Response:
    """The market page. ``action`` is a trigger sent from it and refused (what was posted, the
    problems in words, or the conflict with a change made meanwhile); ``sections`` go to the
    evaluation part."""
    principal = principal_of(web)
    found = visible_market(session, principal, ref)
    doc = market_document(request, session, principal, found)
    passed = {entry.to for entry in doc.history if entry.from_ != entry.to}  # not edits
    return render(
        request,
        "marche.html",
        web,
        status=status,
        doc=doc,
        main_path=MAIN_PATH,
        labels=STATE_LABELS,
        labels_of_triggers={name: spec.label for name, spec in TRIGGERS.items()},
        reason_labels=REASON_LABELS,
        passed=passed,
        actions=_actions(request, session, principal, found, doc, action),
        editable=may_on_market(principal, Action.write_markets, found),
        **market_sections(request, session, principal, found, **sections),
    )


def market_document(
    request: Request, session: Session, principal: Principal, market: Market
) -> MarketStatus:
    """The market's status document as the API answers it to ``principal``: the overview
    within its reach, redacted for a contractor (``api.markets``), as its model."""
    settings = request.app.state.settings
    seen, _horizon = status_seen_by(session, principal, market, settings=settings, now=clock.now())
    return MarketStatus.model_validate(seen)


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
    if not may_on_market(principal, Action.evaluate, market):
        return {"evaluation": None}
    recorded = evaluation.outcomes_of(session, market)
    posted = evaluation_form or {}
    chosen = posted.get("outcomes", {})
    concerned = evaluation.beneficiaries_of(session, market)
    publics = publics_of(session, [person.id for person in concerned])
    people = [
        {
            "code": person.code,
            "name": name_for(person, principal),
            "public": publics_label(publics.get(person.id, [])),
            "outcome": chosen.get(person.code)
            or (recorded[person.id].outcome if person.id in recorded else ""),
        }
        for person in concerned
    ]
    return {
        "evaluation": {
            "people": people,
            "missing": evaluation.missing_outcomes(session, market),
            "summary": posted.get("summary", market.evaluation or ""),
            "outcomes": OUTCOMES,
            "hints": OUTCOME_HINTS,
            # before the outcomes' date, recording one says why
            "due_on": evaluation.outcomes_due_on(market),
            "early": (due := evaluation.outcomes_due_on(market)) is not None
            and clock.today() < due,
            "early_reason": posted.get("early_reason", ""),
            "error": posted.get("error"),
            "saved": request.query_params.get("evaluation") == "enregistree",
        }
    }


DONE = {
    "prepare_offer": "L'offre d'insertion est en préparation.",
    "decline": "Le marché est déclaré non clausable.",
    "publish": "La consultation est publiée.",
    "relaunch": "La consultation est relancée : l'offre d'insertion est rouverte.",
    "award": "Le marché est attribué : son exécution commence.",
    "abandon": "Le marché est abandonné.",
    "complete": "L'exécution est terminée : place à l'évaluation.",
    "close": "Le marché est clos.",
}
REASON_LABELS = {
    "decline": "Pourquoi le marché ne peut pas porter de clause",
    "abandon": "Pourquoi le marché est abandonné",
    "relaunch": "Pourquoi la consultation est infructueuse",
}
KNOWN_CONTRACTORS = 500  # offered by name on the award form; any other is typed by SIRET


def _actions(
    request: Request, session: Session, principal: Principal, market: Market,
    doc: MarketStatus, refused: dict | None,
) -> dict:  # fmt: skip
    """The triggers the person may fire: those possible now, each with the form its data needs,
    and those a guard blocks (the document's), with what is missing in words (``why``, by
    trigger)."""
    allowed = [t for t in doc.allowed_triggers if fires(principal, t.trigger)]
    blocked = [t for t in doc.blocked_triggers if fires(principal, t.trigger)]
    why = {
        t.trigger: f"Pour {t.label[0].lower()}{t.label[1:]} : {' ; '.join(t.missing)}."
        for t in blocked
    }
    award_lots, known = [], []
    if any(t.trigger == "award" for t in allowed):
        award_lots = lots_to_award(session, market.id)
        known = contractor_choices(session, KNOWN_CONTRACTORS)
    done = request.query_params.get("fait")
    return {
        "allowed": allowed,
        "blocked": blocked,
        "why": why,
        "version": doc.version,
        "award_lots": award_lots,
        "known_contractors": known,
        "done": DONE.get(done) if refused is None else None,
        "refused": refused,
        "posted": (refused or {}).get("posted", {}),
    }
