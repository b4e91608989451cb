"""Whose report a person may read: the scope they ask for, narrowed to the markets they see.

An operator reads any scope. A buyer reads its own markets: another buyer, or a market of
another buyer, does not exist for it (404); a structure or a territory is narrowed to its own
markets there. A facilitator reads the markets its structure follows, in the same way. A
contractor has no report (403).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import Session

from clausier.auth.models import Role
from clausier.auth.scope import (
    buyer_condition,
    market_condition,
    require,
    structure_condition,
    visible_market,
)
from clausier.auth.tokens import Principal
from clausier.partners.models import Buyer, Structure
from clausier.reports.indicators import Scope, resolve_scope


def scope_for(
    session: Session, principal: Principal, kind: str, key: str
) -> tuple[Scope, ColumnElement | None, str | None]:
    """(the scope, the narrowing condition on markets, a note saying so) for ``principal``."""
    require(principal, Role.buyer, Role.facilitator)
    if principal.role == Role.admin:
        return resolve_scope(session, kind, key), None, None
    if kind == "market":
        visible_market(session, principal, key.strip())  # 404 out of scope
    # a buyer or a structure out of reach is not found either, and no suggestion names one
    reach = {"buyer": buyer_condition, "structure": structure_condition}.get(kind)
    scope = resolve_scope(session, kind, key, reach=reach(principal) if reach else None)
    own = (principal.role == Role.buyer and kind == "buyer") or (
        principal.role == Role.facilitator and kind == "structure"
    )
    if own or kind == "market":
        return scope, market_condition(principal), None
    return scope, market_condition(principal), narrowing_note(session, principal)


def own_scope(session: Session, principal: Principal) -> Scope:
    """The scope of a person's own report: its buyer, its structure, or everything (operator)."""
    require(principal, Role.buyer, Role.facilitator)
    if principal.role == Role.buyer:
        buyer = session.get(Buyer, principal.org_id)
        return Scope("buyer", buyer.siret, buyer.name, buyer.id)
    if principal.role == Role.facilitator:
        structure = session.get(Structure, principal.org_id)
        return Scope("structure", structure.ref, structure.name, structure.id)
    return resolve_scope(session, "all", "")


def narrowing_note(session: Session, principal: Principal) -> str:
    if principal.role == Role.buyer:
        return f"Limité aux marchés de {session.get(Buyer, principal.org_id).name}."
    return f"Limité aux marchés suivis par {session.get(Structure, principal.org_id).name}."
