"""Who creates and edits markets and their lots, and how far (DESIGN.md, "Who may do what").

A buyer writes its own markets only, and only in ``identification``: what follows is the
lifecycle's (the offer, publish and award guards). Another buyer's market is not found, for a
write as for a read. Only an operator's historical import (an admin through the API, or
``clausier load`` on the machine) may bring a market in at a later state, or change one that has
left identification; the loader logs each such write.
"""

from __future__ import annotations

from dataclasses import dataclass

from clausier.auth.models import Role
from clausier.auth.scope import require
from clausier.auth.tokens import Principal
from clausier.errors import Forbidden, MarketEditRefused, UnknownRecord
from clausier.markets.models import Market
from workflow.lifecycle import STATE_LABELS

EDITABLE_STATE = "identification"  # where a market is born, and where its buyer may change it


@dataclass(frozen=True)
class MarketWriter:
    """What one caller may write through the load path (the API's and the CLI's)."""

    buyer_id: int | None  # the one buyer whose markets it writes; None: any buyer's
    imports_history: bool  # may set a later state, and change a market in any state

    @property
    def restricted(self) -> bool:
        """Whether any market could be refused to it (else nothing needs asking)."""
        return self.buyer_id is not None or not self.imports_history

    def reach(self, market: Market) -> None:
        """A ref belongs to its buyer: another buyer's market is not found."""
        if self.buyer_id is not None and market.buyer_id != self.buyer_id:
            raise UnknownRecord("Marché", market.ref)

    def may_write_for(self, buyer_id: int, ref: str) -> None:
        """A buyer files its markets under its own name only."""
        if self.buyer_id is not None and buyer_id != self.buyer_id:
            raise UnknownRecord("Marché", ref)

    def may_set_state(self, ref: str, state: str | None) -> None:
        """A state other than identification skips the lifecycle's guards: an import only."""
        if state in (None, EDITABLE_STATE) or self.imports_history:
            return
        raise Forbidden(
            f"Un acheteur ne peut pas mettre le marché {ref} à l'état « {STATE_LABELS[state]} » : "
            f"il crée ses marchés à l'état « {STATE_LABELS[EDITABLE_STATE]} », puis le cycle de "
            "vie les fait avancer (offre d'insertion, publication, attribution). Seul l'import "
            "historique d'un administrateur reprend un marché à un état ultérieur."
        )

    def may_edit(self, market: Market) -> None:
        if market.state == EDITABLE_STATE or self.imports_history:
            return
        raise MarketEditRefused(market=market.ref, state_label=STATE_LABELS[market.state])

    def edits(self, market: Market) -> bool:
        """Whether it may change ``market`` now (a page's « Modifier »): ``reach`` and
        ``may_edit`` without their refusals."""
        try:
            self.reach(market)
            self.may_edit(market)
        except (UnknownRecord, MarketEditRefused):
            return False
        return True


HISTORICAL_IMPORT = MarketWriter(buyer_id=None, imports_history=True)


def market_writer(principal: Principal) -> MarketWriter:
    """``POST /api/markets``: a buyer its own markets, in identification; an admin imports."""
    require(principal, Role.buyer)
    if principal.role == Role.admin:
        return HISTORICAL_IMPORT
    return MarketWriter(buyer_id=principal.org_id, imports_history=False)


def load_writer(principal: Principal) -> MarketWriter:
    """``POST /api/load`` (every kind of record, as ``clausier load``): an admin's import."""
    require(principal)
    return HISTORICAL_IMPORT


def operator_import() -> MarketWriter:
    """``clausier load FILE``: run on the machine by its operator, the historical import."""
    return HISTORICAL_IMPORT
