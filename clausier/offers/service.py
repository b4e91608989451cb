"""Prepare the insertion offer of a market's lots: compute, override, render, store.

Before ``publish`` the offer can be redone or edited as often as needed; from the consultation
on it is frozen, since the tender documents carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from clausier import clock
from clausier.config import OfferSettings
from clausier.errors import InvalidInput, Refused, VersionConflict
from clausier.markets import history
from clausier.markets.models import CPV_SOURCES, Lot, Market, lot_cpv
from clausier.offers.clause import (
    MODALITIES,
    clause_context,
    render_clause,
    render_edited_clause,
)
from clausier.offers.formula import Computation, Factor, compute, labour_share_for
from clausier.offers.instruments import EXECUTION_CONDITION, INSTRUMENTS
from clausier.partners.models import Buyer, Structure
from clausier.partnerships.models import Convention
from clausier.partnerships.penalty import Penalty, penalty_of
from clausier.referential.service import place_of
from clausier.validation.numbers import LOT_HOURS
from workflow.lifecycle import STATE_LABELS

OPEN_STATES = ("identification", "insertion_offer")
# what the market's log keeps of a lot's offer: the factors it was computed from, then its result
OFFER_FACTORS = ("insertion_rate", "labour_share", "hourly_cost")
OFFER_FIELDS = (
    "hours_computed", "hours", "hours_override_reason", "modalities", "clause_text", "instrument",
)  # fmt: skip
# the source of a figure the facilitator typed, as the offer keeps it
ENTERED = {
    "insertion_rate": "taux saisi",
    "labour_share": "part de main-d'œuvre saisie",
    "hourly_cost": "coût horaire saisi",
}
_markets = Market.__table__


class OfferFrozen(Refused):
    """L'offre d'insertion est figée."""


class LabourShareUnknown(InvalidInput):
    """The trade is not in the labour-share table: the facilitator gives the share."""


@dataclass(frozen=True)
class LotChoice:
    """What the facilitator sets on one lot; None everywhere is the computed offer (the figures
    from their sources, the computed hours, the template's text, the lot's modalities)."""

    insertion_rate: Decimal | None = None
    labour_share: Decimal | None = None
    hourly_cost: Decimal | None = None
    hours: int | None = None  # an override of the computed figure, with its reason
    reason: str | None = None
    clause_text: str | None = None  # an edited text, whose {{ variables }} are the lot's
    modalities: list[str] | None = None
    instrument: str | None = None  # the clause's legal instrument; None: the lot's as it is


@dataclass(frozen=True)
class Defaults:
    """The figures a lot gets when nobody types one, each with its source."""

    labour_share: Factor | None  # None: a trade outside the table, with no default configured
    insertion_rate: Factor
    hourly_cost: Factor
    cpv: str  # the CPV whose family gives the labour share
    cpv_source: str  # whose CPV it is: ``lot`` (its own) or ``market`` (the lot has none)


@dataclass(frozen=True)
class LotOffer:
    lot: Lot
    computation: Computation
    override: int | None
    replaced_edited_text: bool
    # what the lot holds once the offer is stored (``plan`` leaves the lot as it is)
    hours: int = 0
    reason: str | None = None
    modalities: list[str] | None = None
    clause_text: str | None = None
    clause_edited: bool = False
    instrument: str = EXECUTION_CONDITION
    penalty: Penalty | None = None  # the one the clause text names


def _first(*candidates: tuple[Decimal | None, str]) -> Factor:
    """The first figure set, with where it comes from (config.yaml always sets one)."""
    for value, source in candidates:
        if value is not None:
            return Factor(Decimal(value), source)
    raise AssertionError("config.yaml always provides a value")


def _offer_of(lot: Lot) -> dict:
    """The lot's offer as the log compares it (a factor by value: 0.05 is 0.0500)."""
    computed = lot.offer or {}
    factors = {
        name: Decimal(computed[name]) if computed.get(name) is not None else None
        for name in OFFER_FACTORS
    }
    return factors | history.watch(lot, OFFER_FIELDS)


def refuse_frozen(market: Market) -> None:
    if market.state not in OPEN_STATES:
        raise OfferFrozen(
            f"L'offre d'insertion du marché {market.ref} est figée depuis la publication "
            f"(état « {STATE_LABELS[market.state]} ») : elle figure dans les pièces de la consultation."
        )


def defaults(
    session: Session, market: Market, settings: OfferSettings, lot: Lot | None = None
) -> Defaults:
    """Each figure from its first source: the CPV table (or config.yaml) for the labour share,
    by the lot's CPV (the market's when the lot has none, or no lot is given); the convention,
    then the buyer, then config.yaml for the rate and the hourly cost."""
    buyer = session.get(Buyer, market.buyer_id)
    convention = session.get(Convention, market.convention_id) if market.convention_id else None
    conv = f"convention {convention.ref}" if convention else ""
    rate = _first(
        (convention.insertion_rate if convention else None, conv),
        (buyer.insertion_rate, f"paramètres de {buyer.name}"),
        (settings.insertion_rate, "config.yaml"),
    )  # fmt: skip
    cost = _first(
        (convention.hourly_cost if convention else None, conv),
        (buyer.hourly_cost, f"paramètres de {buyer.name}"),
        (settings.hourly_cost, "config.yaml"),
    )  # fmt: skip
    cpv, whose = lot_cpv(lot, market) if lot is not None else (market.cpv, "market")
    return Defaults(labour_share_for(cpv, settings), rate, cost, cpv, whose)


def missing_share(base: Defaults) -> str:
    """Why the labour share must be typed (after « le »): the trade's CPV, the lot's or the
    market's, is in no family of the table."""
    return (
        f"code CPV {base.cpv} ({CPV_SOURCES[base.cpv_source]}) n'est pas dans la table des parts "
        "de main-d'œuvre"
    )


def choice_of(lot: Lot) -> LotChoice:
    """What the facilitator set on a lot's stored offer: the figures typed, the override, an
    edited text (so that computing again keeps them)."""
    stored = lot.offer or {}

    def typed(name: str) -> Decimal | None:
        if stored.get(f"{name}_source") == ENTERED[name] and stored.get(name) is not None:
            return Decimal(stored[name])
        return None

    overridden = bool(lot.hours_override_reason)
    return LotChoice(
        insertion_rate=typed("insertion_rate"),
        labour_share=typed("labour_share"),
        hourly_cost=typed("hourly_cost"),
        hours=lot.hours if overridden else None,
        reason=lot.hours_override_reason if overridden else None,
        clause_text=lot.clause_text if lot.clause_edited and lot.clause_text else None,
        modalities=lot.modalities,
        # a lot's own choice; the default (a condition of execution) is no choice
        instrument=lot.instrument if lot.instrument != EXECUTION_CONDITION else None,
    )


def _check(choice: LotChoice) -> None:
    problem = None if choice.hours is None else LOT_HOURS.problem(Decimal(choice.hours))
    if problem:  # the rule of a lot's hours, as the page's, a load file's and an API body's
        raise InvalidInput(f"--hours {choice.hours} : {problem}.")
    if choice.hours is not None and not (choice.reason or "").strip():
        raise InvalidInput("Une dérogation au calcul doit être motivée : ajoutez --reason « … ».")
    if choice.reason and choice.hours is None:
        raise InvalidInput("--reason accompagne une dérogation : indiquez aussi --hours.")
    if choice.instrument is not None and choice.instrument not in INSTRUMENTS:
        raise InvalidInput(
            f"Instrument « {choice.instrument} » inconnu. Possibles : "
            + ", ".join(f"{code} ({i.label}, {i.article})" for code, i in INSTRUMENTS.items())
            + "."
        )
    unknown = sorted(set(choice.modalities or ()) - set(MODALITIES))
    if unknown:
        raise InvalidInput(
            f"Modalité(s) inconnue(s) : {', '.join(unknown)}. Possibles : {', '.join(MODALITIES)}."
        )


def _lots(session: Session, market: Market, numbers) -> list[Lot]:
    lots = list(
        session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    )
    if numbers is None:
        return lots
    missing = sorted(set(numbers) - {lot.number for lot in lots})
    if missing:
        raise InvalidInput(f"Le marché {market.ref} n'a pas de lot n° {missing[0]}.")
    return [lot for lot in lots if lot.number in numbers]


def plan(
    session: Session,
    market: Market,
    *,
    settings: OfferSettings,
    choices: dict[int, LotChoice] | None = None,
) -> list[LotOffer]:
    """The offer of the lots in ``choices`` (every lot, as stored, when None), computed and its
    clause text rendered, without writing anything: what « Recalculer » shows."""
    lots = _lots(session, market, None if choices is None else choices)
    if choices is None:
        choices = {lot.number: choice_of(lot) for lot in lots}
    buyer = session.get(Buyer, market.buyer_id)
    structure = session.get(Structure, market.structure_id) if market.structure_id else None
    place = place_of(session, market.commune_code)
    penalty = penalty_of(session, market)
    offers = []
    for lot in lots:
        choice = choices[lot.number]
        _check(choice)
        base = defaults(session, market, settings, lot)
        if choice.labour_share is not None:
            share = Factor(choice.labour_share, ENTERED["labour_share"])
        elif base.labour_share is not None:
            share = base.labour_share
        else:
            raise LabourShareUnknown(
                f"Le {missing_share(base)} : précisez --labour-share (par exemple 40 %)."
            )
        rate, cost = base.insertion_rate, base.hourly_cost
        if choice.insertion_rate is not None:
            rate = Factor(choice.insertion_rate, ENTERED["insertion_rate"])
        if choice.hourly_cost is not None:
            cost = Factor(choice.hourly_cost, ENTERED["hourly_cost"])
        computation = compute(
            amount=Decimal(lot.amount),
            labour_share=share,
            insertion_rate=rate,
            hourly_cost=cost,
            settings=settings,
            cpv=base.cpv,
            cpv_source=base.cpv_source,
        )
        effective = choice.hours if choice.hours is not None else computation.hours
        modalities = (
            sorted(choice.modalities, key=MODALITIES.index) if choice.modalities else lot.modalities
        )
        instrument = choice.instrument or lot.instrument or EXECUTION_CONDITION
        context = clause_context(
            market={
                "ref": market.ref, "title": market.title, "cpv": market.cpv, "commune": place.name,
                "execution_starts_on": market.execution_starts_on,
                "execution_ends_on": market.execution_ends_on,
            },
            lot={"number": lot.number, "title": lot.title, "amount": str(lot.amount)},
            hours=effective,
            structure={"name": structure.name, "email": structure.email} if structure
            else {"name": "le facilitateur de la clause", "email": buyer.email},
            buyer={"name": buyer.name},
            modalities=modalities or list(MODALITIES),
            settings=settings,
            instrument=instrument,
            penalty_per_hour=penalty.per_hour if penalty else None,
        )  # fmt: skip
        replaced, edited = False, False
        if choice.clause_text is not None:
            text, edited = render_edited_clause(choice.clause_text, context), True
        elif effective > 0:
            replaced, text = lot.clause_edited, render_clause(settings, context)
        else:
            text = None
        offers.append(
            LotOffer(
                lot=lot,
                computation=computation,
                override=choice.hours,
                replaced_edited_text=replaced,
                hours=effective,
                reason=choice.reason.strip()
                if choice.hours is not None and choice.reason
                else None,
                modalities=modalities,
                clause_text=text,
                clause_edited=edited,
                instrument=instrument,
                penalty=penalty,
            )
        )
    return offers


def _bump_version(session: Session, market: Market) -> None:
    """An offer stored is a change of the market: its version moves, as a transition's does,
    first (the row locked), so that a change made meanwhile refuses this one before it writes."""
    at = clock.now()
    bumped = session.connection().execute(
        update(_markets)
        .where(
            _markets.c.id == market.id,
            _markets.c.version == market.version,
            _markets.c.state == market.state,
        )
        .values(version=market.version + 1, updated_at=at)
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=market.ref, expected=market.version)
    set_committed_value(market, "version", market.version + 1)
    set_committed_value(market, "updated_at", at)


def save(
    session: Session,
    market: Market,
    *,
    settings: OfferSettings,
    actor: str,
    choices: dict[int, LotChoice],
    expected_version: int | None = None,
) -> list[LotOffer]:
    """Store the offer of the lots in ``choices`` (the caller commits): the version moves when
    something changes, and what changed is logged as one edit by ``actor``. A market changed
    since ``expected_version`` was read is refused (``VersionConflict``), nothing written."""
    refuse_frozen(market)
    if expected_version is not None and market.version != expected_version:
        raise VersionConflict(market=market.ref, expected=expected_version)
    offers = plan(session, market, settings=settings, choices=choices)
    changes: dict[str, list] = {}
    befores = [_offer_of(offer.lot) for offer in offers]
    for offer in offers:
        lot = offer.lot
        lot.hours_computed = offer.computation.hours
        lot.hours_override_reason = offer.reason
        lot.hours = offer.hours
        lot.offer = offer.computation.as_dict() | {  # the penalty the clause names, kept
            "penalty_per_hour": str(offer.penalty.per_hour) if offer.penalty else None,
            "penalty_source": offer.penalty.source if offer.penalty else None,
        }
        lot.modalities = offer.modalities
        lot.clause_text, lot.clause_edited = offer.clause_text, offer.clause_edited
        lot.instrument = offer.instrument
    for before, offer in zip(befores, offers, strict=True):
        changes |= history.changed(before, _offer_of(offer.lot), lot=offer.lot.number)
    if changes:
        _bump_version(session, market)  # through the connection: the lots are not flushed yet
    for offer in offers:
        session.add(offer.lot)
    history.record_edit(session, market, changes, actor=actor)
    return offers


def prepare(
    session: Session,
    market: Market,
    *,
    settings: OfferSettings,
    actor: str,
    lot_number: int | None = None,
    insertion_rate: Decimal | None = None,
    labour_share: Decimal | None = None,
    hourly_cost: Decimal | None = None,
    hours: int | None = None,
    reason: str | None = None,
    clause_text: str | None = None,
    modalities: list[str] | None = None,
    instrument: str | None = None,
) -> list[LotOffer]:
    """``clausier offer``: compute (and store) the offer of one lot or of every lot of the
    market with the same figures; what changed is logged, by ``actor``."""
    refuse_frozen(market)
    choice = LotChoice(
        insertion_rate=insertion_rate, labour_share=labour_share, hourly_cost=hourly_cost,
        hours=hours, reason=reason, clause_text=clause_text, modalities=modalities,
        instrument=instrument,
    )  # fmt: skip
    _check(choice)
    lots = _lots(session, market, None if lot_number is None else {lot_number})
    if (hours is not None or clause_text is not None) and lot_number is None and len(lots) > 1:
        raise InvalidInput(
            "Une dérogation ou un texte de clause vaut pour un lot : précisez --lot N."
        )
    return save(
        session, market, settings=settings, actor=actor,
        choices={lot.number: choice for lot in lots},
    )  # fmt: skip


def read_clause_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Texte de clause illisible ({path}) : {exc}.") from exc
    if not text.strip():
        raise InvalidInput(f"Le texte de clause {path} est vide.")
    return text
