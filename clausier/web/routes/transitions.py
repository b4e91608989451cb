"""The market page's buttons: each trigger fired from the page, with the data it takes (a
reason, the award's contractors, the bilan), against the version the page showed."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from clausier.auth.policy import may_fire
from clausier.auth.scope import visible_market
from clausier.errors import GuardRefused, InvalidInput, NotFound, VersionConflict
from clausier.http.session import SessionDep
from clausier.markets.lots import lots_to_award
from clausier.markets.models import Market
from clausier.partners.contractors import known_contractor, new_contractor
from clausier.validation.messages import french_message
from clausier.web.common import FormDep, WebDep, actor_of, check_csrf, form_text, principal_of
from clausier.web.market_page import market_page
from workflow.engine import fire
from workflow.guards import in_words
from workflow.lifecycle import TRIGGERS
from workflow.payloads import PAYLOADS

router = APIRouter(include_in_schema=False)

FIELD_WORDS = {"reason": "le motif", "evaluation": "le bilan", "unsuccessful": "l'infructuosité"}
CONFLICT = (
    "Le marché a changé depuis l'affichage : voici son état actuel. Vérifiez-le, puis "
    "recommencez si l'action a encore lieu d'être."
)


@router.post("/marches/{ref:ref}/declencher/{trigger}")
def fire_from_page(
    request: Request, ref: str, trigger: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    market = visible_market(session, principal, ref)
    if trigger not in TRIGGERS:
        raise NotFound(f"Action inconnue sur le marché {market.ref}.")
    may_fire(principal, trigger)
    posted = {key: form_text(value) for key, value in form.items()}
    action = {"trigger": trigger, "posted": posted}
    try:
        version = _version(posted.get("version", ""))
        data = _payload(session, market, trigger, posted)
        fire(session, ref=market.ref, trigger=trigger, actor=actor_of(web), data=data,
             expected_version=version, settings=request.app.state.settings)  # fmt: skip
    except VersionConflict:
        session.rollback()
        return market_page(request, web, session, ref, status=409,
                           action={"trigger": trigger, "conflict": CONFLICT})  # fmt: skip
    except GuardRefused as refused:
        session.rollback()
        problems = [in_words(reason) for reason in refused.reasons]
        return market_page(request, web, session, ref, status=409, action={**action, "problems": problems})  # fmt: skip
    except InvalidInput as invalid:
        session.rollback()
        return market_page(request, web, session, ref, status=422, action={**action, "problems": [str(invalid)]})  # fmt: skip
    session.commit()
    return RedirectResponse(f"/marches/{quote(market.ref)}?fait={trigger}#actions", status_code=303)


def _version(text: str) -> int:
    """The version the page showed: the transition is refused if the market moved since."""
    if not (text.isascii() and text.isdigit()):  # « ²⁰²⁶ » is a digit int() refuses
        raise InvalidInput("Le formulaire ne dit pas quelle version du marché il modifie : rechargez la page.")  # fmt: skip
    return int(text)


def _payload(session: Session, market: Market, trigger: str, posted: dict[str, str]) -> dict:
    """The trigger's data from the form, checked by the trigger's own model (``PAYLOADS``)."""
    if trigger in ("decline", "abandon"):
        data = {"reason": posted.get("motif", "")}
    elif trigger == "relaunch":
        data = {
            "unsuccessful": posted.get("infructueuse") == "oui",
            "reason": posted.get("motif", ""),
        }
    elif trigger == "award":
        data = {"contractors": _contractors(session, market, posted)}
    elif trigger == "close":
        data = {"evaluation": posted.get("bilan") or None}
    else:
        data = {}
    try:
        PAYLOADS[trigger].model_validate(data)
    except ValidationError as error:
        raise InvalidInput(" ; ".join(
            f"{FIELD_WORDS.get(str(item['loc'][0]), 'les données')} : {french_message(item)}"
            if item["loc"] else french_message(item)
            for item in error.errors()
        )) from error  # fmt: skip
    return data


def _contractors(session: Session, market: Market, posted: dict[str, str]) -> dict[int, str]:
    """Each clause-carrying lot without a contractor: the one typed (a SIRET or a known name),
    else the one created on the spot. A lot left blank is for the guard to name."""
    chosen = {}
    for lot in lots_to_award(session, market.id):
        n = lot.number
        typed = posted.get(f"titulaire-{n}", "")
        new = {field: posted.get(f"nouveau-{key}-{n}", "") for key, field in
               (("siret", "siret"), ("nom", "name"), ("email", "email"))}  # fmt: skip
        if typed:
            contractor = known_contractor(session, typed)
            if contractor is None:
                raise InvalidInput(
                    f"Lot {n} : aucun titulaire connu sous « {typed} » (SIRET ou raison sociale) : "
                    "vérifiez-le, ou créez-le avec son SIRET, sa raison sociale et son adresse."
                )
        elif any(new.values()):
            try:
                contractor = new_contractor(session, **new)
            except InvalidInput as invalid:
                raise InvalidInput(f"Lot {n} : {invalid}") from invalid
        else:
            continue
        chosen[n] = contractor.siret
    return chosen
