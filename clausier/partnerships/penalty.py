"""The penalty per missing insertion hour a market's contract carries: the convention's that
assigned the market, else its buyer's; neither set, none (DOMAIN.md: *typical* an amount per
missing hour, which the buyer may apply to a shortfall at the end of execution)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from clausier.markets.models import Market
from clausier.partners.models import Buyer
from clausier.partnerships.models import Convention


@dataclass(frozen=True)
class Penalty:
    per_hour: Decimal  # € per missing hour
    source: str  # « convention CONV-2027-014 », « paramètres de Conseil départemental… »


def penalty_of(session: Session, market: Market) -> Penalty | None:
    """The penalty per missing hour of ``market``: its convention's, else its buyer's; None
    when neither sets one."""
    convention = session.get(Convention, market.convention_id) if market.convention_id else None
    if convention is not None and convention.penalty_per_hour is not None:
        return chosen(convention, None, "")
    buyer = session.get(Buyer, market.buyer_id)
    return chosen(None, buyer.penalty_per_hour, buyer.name) if buyer is not None else None


def chosen(
    convention: Convention | None, buyer_penalty: Decimal | None, buyer_name: str
) -> Penalty | None:
    """The rule, from what is read already: the convention's penalty, else the buyer's."""
    if convention is not None and convention.penalty_per_hour is not None:
        return Penalty(Decimal(convention.penalty_per_hour), f"convention {convention.ref}")
    if buyer_penalty is not None:
        return Penalty(Decimal(buyer_penalty), f"paramètres de {buyer_name}")
    return None
