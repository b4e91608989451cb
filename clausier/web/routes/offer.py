"""The insertion offer of a market, on the web: per lot the hours formula step by step, each
figure with its source; the facilitators of the structure that follows the market edit it while
the offer is prepared (« Recalculer » shows the figures without saving), the buyer and an
operator read it, and from the publication on it is shown as stored, read-only.

The computing and the storing are the domain's (``clausier.offers.service``, the same as
``clausier offer``); this page reads the form, says in French which field is wrong, and carries
the market's version so that a change made meanwhile is refused, never lost.

Each lot's computation is the document the API answers for it (``lots[].offer`` of
``GET /api/markets/{ref}``: ``Computation.as_dict``, the stored one once frozen), validated
into its model (``Offer``); the form's state goes beside it, in the ``LotView``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from clausier.auth.policy import Action, may_edit_offer, require_edit_offer, require_to
from clausier.auth.scope import visible_market
from clausier.errors import ClausierError, InvalidInput, Refused, VersionConflict
from clausier.formatting import fr_number
from clausier.http.session import SessionDep
from clausier.markets.models import CPV_SOURCES, Lot, Market, lot_cpv
from clausier.offers import service
from clausier.offers.clause import MODALITIES, MODALITY_LABELS, ClauseTextRefused
from clausier.offers.formula import parse_cost, parse_share, percent
from clausier.offers.instruments import EXECUTION_CONDITION, INSTRUMENTS
from clausier.offers.read import Offer
from clausier.tasks.service import offer_preparer
from clausier.validation.numbers import INSERTION_RATE, LABOUR_SHARE, LOT_HOURS
from clausier.web.common import (
    FormDep,
    WebDep,
    actor_of,
    check_csrf,
    form_text,
    principal_of,
    render,
)
from workflow.lifecycle import STATE_LABELS

router = APIRouter(include_in_schema=False)

EDITED_STATE = "insertion_offer"  # the state where the offer is prepared (identification: not yet)
MAX_TEXT = 20_000  # characters of one lot's clause text
CONFLICT = (
    "Le marché a changé depuis l'affichage (quelqu'un d'autre l'a modifié) : la page a été "
    "rechargée avec ses données à jour et vos modifications n'ont pas été enregistrées. "
    "Vérifiez-les, puis refaites-les si besoin."
)
_ROUNDING = {"nearest": "au plus proche", "up": "au supérieur", "down": "à l'inférieur"}


@dataclass
class LotView:
    """One lot as the page shows it: its computation (the API's document) and its steps in
    words, the form's values, errors."""

    lot: Lot
    offer: Offer | None = None  # the computation shown: stored, or what the figures give now
    steps: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # key, what, figure, source
    hours: int | None = None  # what the figures shown give (computed, or the override)
    result: str = ""  # the hours retained, in words
    below_floor: bool = False
    stored_hours: int | None = None
    values: dict[str, str] = field(default_factory=dict)  # the fields, as typed
    modalities: list[str] = field(default_factory=list)
    instrument: str = EXECUTION_CONDITION  # the clause's legal instrument
    clause_text: str = ""  # what the editor holds
    clause_base: str = ""  # the digest of the template's text shown (not edited), else ""
    preview: str | None = None  # the clause as the tender documents will carry it
    edited: bool = False
    replaced: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # field → French message
    missing_share: bool = False
    cpv: str = ""  # the CPV whose family gives the labour share, and whose it is, in words
    cpv_source: str = ""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _percent_field(value: Decimal) -> str:
    """0.07 → « 7 », 0.055 → « 5,5 » (the field's unit is %)."""
    text = format((Decimal(value) * 100).normalize(), "f")
    return text.replace(".", ",")


def _cost_field(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f").replace(".", ",")


def _source(text: str) -> str:
    """A figure's source in words for the page; config.yaml is the site's default setting."""
    if text.startswith("config.yaml"):
        rest = text.removeprefix("config.yaml").lstrip(", ")
        return "réglage par défaut de Clausier (config.yaml" + (f", {rest})" if rest else ")")
    return text


def _steps(doc: Offer, settings) -> list[tuple[str, str, str]]:
    """The formula's steps from a computation, each with its source."""
    amount, share = Decimal(doc.amount), Decimal(doc.labour_share)
    rate, cost = Decimal(doc.insertion_rate), Decimal(doc.hourly_cost)
    labour = amount * share
    insertion = labour * rate
    rounding = f"multiple de {settings.round_to} {_ROUNDING[settings.rounding]}"
    return [
        ("amount", "Montant HT du lot", f"{fr_number(amount)} €", "montant du lot saisi par l'acheteur"),
        ("share", "× part de main-d'œuvre", percent(share), _source(doc.labour_share_source)),
        ("labour", "= main-d'œuvre", f"{fr_number(labour)} €", ""),
        ("rate", "× taux d'insertion", percent(rate), _source(doc.insertion_rate_source)),
        ("insertion", "= part réservée à l'insertion", f"{fr_number(insertion)} €", ""),
        ("cost", "÷ coût horaire moyen", f"{fr_number(cost)} € de l'heure", _source(doc.hourly_cost_source)),
        ("raw", "= heures calculées", f"{fr_number(Decimal(doc.raw), 2)} heures", ""),
        ("rounded", "arrondi", f"{fr_number(doc.rounded)} heures", f"réglage : {rounding}"),
        ("floor", "plancher", f"{fr_number(doc.floor)} heures", "réglage : en dessous, pas de clause"),
    ]  # fmt: skip


def _lots(session: Session, market: Market) -> list[Lot]:
    return list(
        session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    )


def _stored_view(lot: Lot, settings) -> LotView:
    """A lot as stored: what the tender documents carry once published."""
    view = LotView(
        lot=lot, stored_hours=lot.hours, preview=lot.clause_text, edited=lot.clause_edited
    )
    if lot.offer:
        view.offer = Offer.model_validate(lot.offer)
        view.steps = _steps(view.offer, settings)
        view.below_floor = view.offer.below_floor
    view.modalities = list(lot.modalities or MODALITIES)
    view.instrument = lot.instrument
    view.values = {"heures": "" if lot.hours is None else str(lot.hours),
                   "motif": lot.hours_override_reason or ""}  # fmt: skip
    return view


def _planned_view(lot: Lot, offer: service.LotOffer, settings) -> LotView:
    doc = Offer.model_validate(offer.computation.as_dict())
    view = LotView(
        lot=lot, offer=doc, steps=_steps(doc, settings), below_floor=doc.below_floor,
        stored_hours=lot.hours, hours=offer.hours, modalities=list(offer.modalities or MODALITIES),
        preview=offer.clause_text, edited=offer.clause_edited, replaced=offer.replaced_edited_text,
        instrument=offer.instrument,
    )  # fmt: skip
    computation = offer.computation
    view.values = {
        "taux": _percent_field(computation.insertion_rate.value),
        "part": _percent_field(computation.labour_share.value),
        "cout": _cost_field(computation.hourly_cost.value),
        "heures": "" if offer.override is None else str(offer.override),
        "motif": offer.reason or "",
    }
    view.clause_text = (offer.clause_text or "").rstrip("\n")
    view.clause_base = "" if offer.clause_edited else _digest(_normal(view.clause_text))
    return view


def _result(view: LotView, offer: service.LotOffer | None) -> None:
    if offer is None:
        return
    computed = offer.computation.hours
    if offer.override is not None:
        view.result = (
            f"{fr_number(offer.override)} heures retenues par dérogation "
            f"(au lieu de {fr_number(computed)} heures calculées)"
        )
    elif offer.computation.below_floor:
        view.result = "sous le plancher : le lot ne porte pas de clause"
    else:
        view.result = f"{fr_number(computed)} heures d'insertion"


def _offer_page(
    request: Request, web, session: Session, market: Market, *, views: list[LotView],
    version: int, status: int = 200, notice: str | None = None, conflict: bool = False,
    errors: list[tuple[str, str]] | None = None,
) -> Response:  # fmt: skip
    principal = principal_of(web)
    preparer = offer_preparer(session, market)
    editable = market.state == EDITED_STATE and may_edit_offer(principal, market, preparer=preparer)
    settings = request.app.state.settings.offer
    base = service.defaults(session, market, settings) if editable else None
    shares = {}  # each lot's labour share by its own trade, for offre.js
    for view in views:
        stored = view.offer.cpv if view.offer and view.offer.cpv_source else None
        cpv, whose = (stored, view.offer.cpv_source) if stored else lot_cpv(view.lot, market)
        view.cpv, view.cpv_source = cpv, CPV_SOURCES[whose]
        if editable:
            share = service.defaults(session, market, settings, view.lot).labour_share
            shares[view.lot.number] = (
                (_percent_field(share.value), _source(share.source)) if share else ("", "")
            )
    return render(
        request, "offre.html", web, status=status, market=market, views=views, version=version,
        editable=editable, frozen=market.state not in service.OPEN_STATES,
        state_label=STATE_LABELS[market.state], modality_labels=MODALITY_LABELS,
        modalities=MODALITIES, instruments=INSTRUMENTS, notice=notice, conflict=conflict and CONFLICT, errors=errors or [],
        live=_live(base, settings) if base else None, shares=shares,
        prepared_by_buyer=preparer is None,
    )  # fmt: skip


def _live(base: service.Defaults, settings) -> dict:
    """What offre.js needs to recompute as one types: the defaults and their sources, the
    rounding and the floor (the server recomputes anyway: « Recalculer », « Enregistrer »)."""
    share = base.labour_share
    return {
        "round_to": settings.round_to, "rounding": settings.rounding, "floor": settings.floor_hours,
        "taux": (_percent_field(base.insertion_rate.value), _source(base.insertion_rate.source)),
        "part": (_percent_field(share.value), _source(share.source)) if share else ("", ""),
        "cout": (_cost_field(base.hourly_cost.value), _source(base.hourly_cost.source)),
        "entered": {"taux": service.ENTERED["insertion_rate"], "part": service.ENTERED["labour_share"],
                    "cout": service.ENTERED["hourly_cost"]},
    }  # fmt: skip


def _fresh_views(session: Session, market: Market, settings) -> list[LotView]:
    """The offer as stored (frozen) or as computing it again now would give (being prepared)."""
    lots = _lots(session, market)
    if market.state not in service.OPEN_STATES:
        return [_stored_view(lot, settings.offer) for lot in lots]
    views = []
    for lot in lots:
        choice = service.choice_of(lot)
        try:
            [offer] = service.plan(
                session, market, settings=settings.offer, choices={lot.number: choice}
            )
        except service.LabourShareUnknown:
            view = _stored_view(lot, settings.offer)
            view.missing_share, view.steps, view.offer = True, [], None
            view.errors["part"] = _missing_share(
                service.defaults(session, market, settings.offer, lot)
            )
            view.values |= _default_fields(session, market, settings)
            view.clause_text = (lot.clause_text or "").rstrip("\n")
            view.clause_base = "" if lot.clause_edited else _digest(_normal(view.clause_text))
            views.append(view)
            continue
        except ClausierError as error:  # a stored edited text the domain no longer accepts
            view = _stored_view(lot, settings.offer)
            view.errors["clause"] = str(error)
            views.append(view)
            continue
        view = _planned_view(lot, offer, settings.offer)
        _result(view, offer)
        views.append(view)
    return views


def _missing_share(base: service.Defaults) -> str:
    return (
        f"Part de main-d'œuvre : le {service.missing_share(base)} ; saisissez-la "
        "(par exemple 40 %)."
    )


def _default_fields(session: Session, market: Market, settings) -> dict[str, str]:
    base = service.defaults(session, market, settings.offer)
    return {"taux": _percent_field(base.insertion_rate.value), "part": "",
            "cout": _cost_field(base.hourly_cost.value)}  # fmt: skip


@router.get("/marches/{ref:ref}/offre")
def offer_page(request: Request, ref: str, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    market = visible_market(session, principal, ref)
    require_to(principal, Action.read_offer)
    saved = request.query_params.get("enregistree") is not None
    views = _fresh_views(session, market, request.app.state.settings)
    return _offer_page(
        request, web, session, market, views=views, version=market.version,
        notice="Offre d'insertion enregistrée." if saved else None,
    )  # fmt: skip


# --- the form ----------------------------------------------------------------------------------


def _read_lot(form, lot: Lot, base: service.Defaults, view: LotView) -> service.LotChoice | None:
    """The lot's choice from the form, or None with ``view.errors`` saying what is wrong."""
    n = lot.number
    values = {
        name: form_text(form.get(f"{name}-{n}"))
        for name in ("taux", "part", "cout", "heures", "motif")
    }
    view.values = values
    errors = view.errors

    def share(name: str, what: str, default, rule) -> Decimal | None:
        text = values[name]
        if not text:
            if default is None:
                errors[name] = f"{what} : à saisir (en %, par exemple 40)."
            return None  # blank: the figure from its source
        try:
            value = parse_share(text, what, in_percent=True, rule=rule)
        except InvalidInput as error:
            errors[name] = str(error)
            return None
        return None if default is not None and value == default.value else value

    rate = share("taux", "Taux d'insertion", base.insertion_rate, INSERTION_RATE)
    labour = share("part", "Part de main-d'œuvre", base.labour_share, LABOUR_SHARE)
    cost = None
    if values["cout"]:
        try:
            cost = parse_cost(values["cout"], "Coût horaire moyen")
        except InvalidInput as error:
            errors["cout"] = str(error)
        if cost is not None and cost == base.hourly_cost.value:
            cost = None
    hours, reason = None, values["motif"]
    if values["heures"]:
        try:  # the rule of a lot's hours, as a load file's and an API body's
            hours = int(LOT_HOURS.read(values["heures"]))
        except ValueError as error:
            errors["heures"] = f"Heures retenues « {values['heures']} » : {error}."
        if hours is not None and "heures" not in errors and not reason:
            errors["motif"] = (
                "Motif de la dérogation : à saisir, une dérogation au calcul doit être motivée."
            )
    elif reason:
        errors["heures"] = (
            "Heures retenues : à saisir avec le motif de la dérogation (ou videz le motif)."
        )
    if len(reason) > 2000:
        errors["motif"] = "Motif de la dérogation : 2 000 caractères au plus."
    chosen = [value for value in form.getlist(f"modalites-{n}") if isinstance(value, str)]
    view.modalities = [m for m in MODALITIES if m in chosen]
    if any(m not in MODALITIES for m in chosen):
        errors["modalites"] = "Modalités : une modalité inconnue a été envoyée ; rechargez la page."
    elif not chosen:
        errors["modalites"] = "Modalités : cochez au moins une modalité permise au titulaire."
    modalities = (
        None if set(chosen) == set(MODALITIES) and lot.modalities is None else view.modalities
    )
    instrument = form_text(form.get(f"instrument-{n}")) or lot.instrument
    view.instrument = instrument if instrument in INSTRUMENTS else lot.instrument
    if instrument not in INSTRUMENTS:
        errors["instrument"] = (
            "Instrument juridique : un choix inconnu a été envoyé ; rechargez la page."
        )
    raw_text = form.get(f"clause-{n}")
    text = _normal(raw_text) if isinstance(raw_text, str) else ""
    view.clause_text = text
    # the template's text when asked for, emptied or left untouched (rendered again with the
    # new figures); else the person's text, whose {{ variables }} the domain replaces
    back = form_text(form.get(f"modele-{n}")) or not text
    view.clause_base = form_text(form.get(f"base-{n}"))  # kept when the form comes back
    clause = None if back or _digest(text) == view.clause_base else text
    view.edited = clause is not None
    if clause is not None and len(clause) > MAX_TEXT:
        errors["clause"] = f"Texte de la clause : {fr_number(MAX_TEXT)} caractères au plus."
    if errors:
        return None
    return service.LotChoice(
        insertion_rate=rate, labour_share=labour, hourly_cost=cost, hours=hours,
        reason=reason or None, clause_text=clause, modalities=modalities,
        instrument=instrument,
    )  # fmt: skip


_FIELD_OF = {ClauseTextRefused: "clause", service.LabourShareUnknown: "part"}


@router.post("/marches/{ref:ref}/offre")
def offer_form(
    request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    """« Recalculer » shows the figures of the form without saving; « Enregistrer » stores them."""
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    market = visible_market(session, principal, ref)
    require_edit_offer(principal, market, preparer=offer_preparer(session, market))
    service.refuse_frozen(market)
    if market.state != EDITED_STATE:
        raise Refused(
            f"L'offre d'insertion du marché {market.ref} se prépare une fois le marché passé à "
            f"l'étape « {STATE_LABELS[EDITED_STATE]} »."
        )
    settings = request.app.state.settings
    try:
        version = int(form_text(form.get("version")))
    except ValueError:
        version = -1
    if version != market.version:
        return _conflict(request, web, session, market, settings)
    views, choices, offers = [], {}, {}
    for lot in _lots(session, market):
        view = LotView(lot=lot, stored_hours=lot.hours)
        views.append(view)
        # the labour share by the lot's own trade (its CPV, else the market's)
        choice = _read_lot(form, lot, service.defaults(session, market, settings.offer, lot), view)
        if choice is None:
            continue
        try:
            [offers[lot.number]] = service.plan(
                session, market, settings=settings.offer, choices={lot.number: choice}
            )
        except ClausierError as error:
            view.errors[_FIELD_OF.get(type(error), "clause")] = str(error)
            continue
        choices[lot.number] = choice
        planned = _planned_view(lot, offers[lot.number], settings.offer)
        _result(planned, offers[lot.number])
        if choice.clause_text is not None:  # the editor keeps the person's text, variables and all
            planned.clause_text, planned.clause_base = view.clause_text, ""
        planned.values = view.values | {
            k: v for k, v in planned.values.items() if not view.values.get(k)
        }
        views[-1] = planned
    errors = [(f"{field}-{view.lot.number}", f"Lot {view.lot.number} — {message}")
              for view in views for field, message in view.errors.items()]  # fmt: skip
    if errors:
        return _offer_page(request, web, session, market, views=views, version=version,
                           status=422, errors=errors)  # fmt: skip
    if form_text(form.get("action")) != "enregistrer":
        return _offer_page(
            request, web, session, market, views=views, version=version,
            notice="Chiffres recalculés : rien n'est encore enregistré. Vérifiez-les, puis « Enregistrer l'offre ».",
        )  # fmt: skip
    try:
        service.save(session, market, settings=settings.offer, actor=actor_of(web),
                     choices=choices, expected_version=version)  # fmt: skip
        session.commit()
    except VersionConflict:
        session.rollback()
        return _conflict(request, web, session, market, settings)
    return RedirectResponse(f"/marches/{quote(market.ref)}/offre?enregistree", status_code=303)


def _conflict(request: Request, web, session: Session, market: Market, settings) -> Response:
    """The page again, read anew: what is stored now, and the message; nothing written."""
    session.rollback()
    session.expire_all()
    market = visible_market(session, principal_of(web), market.ref)
    views = _fresh_views(session, market, settings)
    return _offer_page(request, web, session, market, views=views, version=market.version,
                       status=409, conflict=True)  # fmt: skip
