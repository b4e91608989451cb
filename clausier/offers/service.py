"""Prepare the insertion offer of a market's lots: compute, override, render, store.

Before ``publish`` the offer can be redone or edited as often as needed; from the consultation
on it is frozen, since the tender documents carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from clausier.config import OfferSettings
from clausier.errors import InvalidInput, Refused
from clausier.markets import history
from clausier.markets.models import Lot, Market
from clausier.offers.clause import MODALITIES, clause_context, render_clause
from clausier.offers.formula import Computation, Factor, compute, labour_share_for
from clausier.partners.models import Buyer, Structure
from clausier.partnerships.models import Convention
from clausier.referential.service import place_of
from workflow.lifecycle import STATE_LABELS

OPEN_STATES = ("identification", "insertion_offer")
# what the market's log keeps of a lot's offer: the factors it was computed from, then its result
OFFER_FACTORS = ("insertion_rate", "labour_share", "hourly_cost")
OFFER_FIELDS = ("hours_computed", "hours", "hours_override_reason", "modalities", "clause_text")


class OfferFrozen(Refused):
    """L'offre d'insertion est figée."""


@dataclass(frozen=True)
class LotOffer:
    lot: Lot
    computation: Computation
    override: int | None
    replaced_edited_text: bool


def _factor(
    explicit: Decimal | None, label: str, *candidates: tuple[Decimal | None, str]
) -> Factor:
    if explicit is not None:
        return Factor(explicit, f"{label} saisi")
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
) -> list[LotOffer]:
    """Compute (and store) the offer of one lot or of every lot of the market; what changed is
    logged, by ``actor``."""
    if market.state not in OPEN_STATES:
        raise OfferFrozen(
            f"L'offre d'insertion du marché {market.ref} est figée depuis la publication "
            f"(état « {STATE_LABELS[market.state]} ») : elle figure dans les pièces de la consultation."
        )
    if hours is not None and hours < 0:
        raise InvalidInput(f"--hours {hours} : un nombre d'heures ne peut pas être négatif.")
    if hours is not None and not (reason or "").strip():
        raise InvalidInput("Une dérogation au calcul doit être motivée : ajoutez --reason « … ».")
    if reason and hours is None:
        raise InvalidInput("--reason accompagne une dérogation : indiquez aussi --hours.")
    unknown = sorted(set(modalities or ()) - set(MODALITIES))
    if unknown:
        raise InvalidInput(
            f"Modalité(s) inconnue(s) : {', '.join(unknown)}. Possibles : {', '.join(MODALITIES)}."
        )

    lots = list(
        session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    )
    if lot_number is not None:
        lots = [lot for lot in lots if lot.number == lot_number]
        if not lots:
            raise InvalidInput(f"Le marché {market.ref} n'a pas de lot n° {lot_number}.")
    if (hours is not None or clause_text is not None) and lot_number is None and len(lots) > 1:
        raise InvalidInput(
            "Une dérogation ou un texte de clause vaut pour un lot : précisez --lot N."
        )

    buyer = session.get(Buyer, market.buyer_id)
    convention = session.get(Convention, market.convention_id) if market.convention_id else None
    structure = session.get(Structure, market.structure_id) if market.structure_id else None
    share = (
        Factor(labour_share, "part de main-d'œuvre saisie")
        if labour_share is not None
        else labour_share_for(market.cpv, settings)
    )
    if share is None:
        raise InvalidInput(
            f"Le code CPV {market.cpv} n'est pas dans la table des parts de main-d'œuvre : "
            "précisez --labour-share (par exemple 40 %)."
        )
    conv = f"convention {convention.ref}" if convention else ""
    rate = _factor(
        insertion_rate, "taux",
        (convention.insertion_rate if convention else None, conv),
        (buyer.insertion_rate, f"paramètres de {buyer.name}"),
        (settings.insertion_rate, "config.yaml"),
    )  # fmt: skip
    cost = _factor(
        hourly_cost, "coût horaire",
        (convention.hourly_cost if convention else None, conv),
        (buyer.hourly_cost, f"paramètres de {buyer.name}"),
        (settings.hourly_cost, "config.yaml"),
    )  # fmt: skip
    place = place_of(session, market.commune_code)

    offers, changes = [], {}
    for lot in lots:
        before = _offer_of(lot)
        computation = compute(
            amount=Decimal(lot.amount),
            labour_share=share,
            insertion_rate=rate,
            hourly_cost=cost,
            settings=settings,
        )
        effective = hours if hours is not None else computation.hours
        lot.hours_computed = computation.hours
        lot.hours_override_reason = reason.strip() if hours is not None and reason else None
        lot.hours = effective
        lot.offer = computation.as_dict()
        if modalities:
            lot.modalities = sorted(modalities, key=MODALITIES.index)
        replaced = False
        if clause_text is not None:
            lot.clause_text, lot.clause_edited = clause_text.strip() + "\n", True
        elif effective > 0:
            replaced = lot.clause_edited
            lot.clause_text = render_clause(
                settings,
                clause_context(
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
                    modalities=lot.modalities or list(MODALITIES),
                    settings=settings,
                ),
            )  # fmt: skip
            lot.clause_edited = False
        else:
            lot.clause_text, lot.clause_edited = None, False
        session.add(lot)
        changes |= history.changed(before, _offer_of(lot), lot=lot.number)
        offers.append(
            LotOffer(
                lot=lot, computation=computation, override=hours, replaced_edited_text=replaced
            )
        )
    history.record_edit(session, market, changes, actor=actor)
    return offers


def read_clause_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Texte de clause illisible ({path}) : {exc}.") from exc
    if not text.strip():
        raise InvalidInput(f"Le texte de clause {path} est vide.")
    return text
