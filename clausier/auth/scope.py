"""What each role may see and do (DESIGN.md, "Actors and roles").

A buyer sees its markets; a structure (its facilitators) the markets assigned to it and its
queue; a contractor the markets where it holds a lot, and only its own lots. Anything out of
scope is reported as not found, so that ids don't leak.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import bindparam, exists, false, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from clausier.auth.models import Role
from clausier.auth.tokens import Principal
from clausier.db.statements import narrowed
from clausier.errors import Forbidden, UnknownRecord
from clausier.markets.models import Lot, Market
from clausier.partners.lookup import buyer_named, structure_named
from clausier.partners.models import Buyer, Facilitator, Structure
from clausier.partnerships.models import Convention
from clausier.tasks.models import Task
from clausier.tasks.service import facilitator_by_email
from notifications.models import Reminder

_MARKET_BY_REF = select(Market).where(Market.ref == bindparam("ref"))


# A caller's conditions are built once per role and organisation: the same object comes back
# on each of its requests, and so do the statements narrowed by it (``db.statements``).
_per_caller = lru_cache(maxsize=1024)


def market_condition(principal: Principal):
    return _market_condition(principal.role, principal.org_id)


@_per_caller
def _market_condition(role: Role, org_id: int | None):
    if role == Role.admin:
        return true()
    if role == Role.buyer:
        return Market.buyer_id == org_id
    if role == Role.facilitator:
        return Market.structure_id == org_id
    if role == Role.contractor:
        return Market.id.in_(select(Lot.market_id).where(Lot.contractor_id == org_id))
    return false()


def visible_market(session: Session, principal: Principal, ref: str) -> Market:
    """The market by its ref, read with the caller's reach in one statement: one out of reach
    is not found, as one that does not exist."""
    market = session.exec(
        narrowed(_MARKET_BY_REF, market_condition(principal)), params={"ref": ref}
    ).first()
    if market is None:
        raise UnknownRecord("Marché", ref)
    return market


def structure_condition(principal: Principal):
    """The structures a caller reaches: a facilitator its own; a buyer those it works with (the
    partner of one of its conventions, or the structure following one of its markets)."""
    if principal.role == Role.admin:
        return true()
    if principal.role == Role.facilitator:
        return Structure.id == principal.org_id
    if principal.role == Role.buyer:
        partners = select(Convention.structure_id).where(Convention.buyer_id == principal.org_id)
        following = select(Market.structure_id).where(Market.buyer_id == principal.org_id)
        return Structure.id.in_(partners) | Structure.id.in_(following)
    return false()


def buyer_condition(principal: Principal):
    """The buyers a caller reaches: a buyer itself; a facilitator the buyers its structure works
    with (a convention, or a market it follows)."""
    if principal.role == Role.admin:
        return true()
    if principal.role == Role.buyer:
        return Buyer.id == principal.org_id
    if principal.role == Role.facilitator:
        partners = select(Convention.buyer_id).where(Convention.structure_id == principal.org_id)
        followed = select(Market.buyer_id).where(Market.structure_id == principal.org_id)
        return Buyer.id.in_(partners) | Buyer.id.in_(followed)
    return false()


def convention_condition(principal: Principal):
    """The conventions a caller reaches: a buyer those it signed, a facilitator its
    structure's."""
    if principal.role == Role.admin:
        return true()
    if principal.role == Role.buyer:
        return Convention.buyer_id == principal.org_id
    if principal.role == Role.facilitator:
        return Convention.structure_id == principal.org_id
    return false()


def coverage_reach(principal: Principal) -> tuple[int | None, int | None]:
    """Whose coverage a caller reads, as (buyer id, structure id): a buyer its markets and
    conventions; a facilitator its structure's territory and the markets in it; an operator
    every buyer's (None, None)."""
    if principal.role == Role.buyer:
        return principal.org_id, None
    if principal.role == Role.facilitator:
        return None, principal.org_id
    if principal.role == Role.admin:
        return None, None
    raise Forbidden("La couverture est celle des acheteurs et des structures qui les accompagnent.")


def visible_structure(session: Session, principal: Principal, key: str) -> Structure:
    """A structure by ref or name within the caller's reach: one out of reach is not found, as
    one that does not exist, and no « Vouliez-vous dire » names it."""
    return structure_named(session, key, within=structure_condition(principal))


def visible_buyer(session: Session, principal: Principal, key: str) -> Buyer:
    """A buyer by SIRET or name within the caller's reach (as ``visible_structure``)."""
    return buyer_named(session, key, within=buyer_condition(principal))


def visible_facilitator(session: Session, principal: Principal, email: str) -> Facilitator:
    """A facilitator by e-mail, of a structure the caller reaches: an address out of reach is
    not found, as one nobody has, so that addresses cannot be tried one by one."""
    reach = Facilitator.structure_id.in_(select(Structure.id).where(structure_condition(principal)))
    return facilitator_by_email(session, email, within=reach)


def task_condition(principal: Principal):
    return _task_condition(principal.role, principal.org_id)


@_per_caller
def _task_condition(role: Role, org_id: int | None):
    if role == Role.admin:
        return true()
    if role == Role.facilitator:
        return Task.structure_id == org_id
    if role == Role.buyer:
        return Task.market_id.in_(select(Market.id).where(Market.buyer_id == org_id))
    return false()


def reminder_condition(principal: Principal):
    """Which of a market's reminders the caller reads. A contractor reads those it receives
    about its own lots: not the facilitator's task reminders, not another lot's, not the
    buyer's; the buyer and the structure follow the whole market (the structure but for the
    reminders of a task it does not hold)."""
    return _reminder_condition(principal.role, principal.org_id)


@_per_caller
def _reminder_condition(role: Role, org_id: int | None):
    if role in (Role.admin, Role.buyer):
        return true()
    if role == Role.facilitator:
        # not a task's reminders when the task is not its structure's (the buyer's, as
        # ``task_condition`` has it: the convention lacks the task's service)
        own = aliased(Task)
        theirs = exists().where(own.id == Reminder.task_id, own.structure_id == org_id)
        return Reminder.task_id.is_(None) | theirs
    if role == Role.contractor:
        # not correlated with a lot the caller's query may join (the reminder's own lot)
        own_lots = select(Lot.id).where(Lot.contractor_id == org_id).correlate(None)
        return (Reminder.recipient_role == "contractor") & Reminder.lot_id.in_(own_lots)
    return false()


def task_in_scope(session: Session, principal: Principal, task_id: int) -> Task:
    """A task the caller may act on: its structure's facilitators (or an admin)."""
    require(principal, Role.facilitator)
    task = session.get(Task, task_id)
    if task is None or (principal.role != Role.admin and task.structure_id != principal.org_id):
        raise UnknownRecord("Tâche", str(task_id))
    return task


def require(principal: Principal, *roles: Role) -> None:
    if principal.role != Role.admin and principal.role not in roles:
        raise Forbidden(f"Le rôle « {principal.role.value} » ne permet pas cette action.")


def redact_status(document: dict, principal: Principal, own_siret: str | None) -> dict:
    """A contractor sees its own lots only, and no other contractor in the history. (Its tasks
    and reminders are read within ``task_condition`` and ``reminder_condition``.)"""
    if principal.role != Role.contractor:
        return document
    lots = [
        lot
        for lot in document["lots"]
        if lot["contractor"] and lot["contractor"]["siret"] == own_siret
    ]
    # an edit's details name other lots' contractors: what happened, not what changed
    history = [{**entry, "payload": {}, "changes": []} for entry in document["history"]]
    # what the triggers need or wait for names other lots and beneficiaries; it fires none
    allowed = [{**t, "needs": []} for t in document["allowed_triggers"]]
    blocked = [{**t, "reasons": [], "missing": []} for t in document["blocked_triggers"]]
    return {
        **document,
        "lots": lots,
        # the shortfall and penalty sum every lot's: told to the buyer, not to one contractor
        "shortfall": None,
        "history": history,
        "allowed_triggers": allowed,
        "blocked_triggers": blocked,
    }


def lot_in_scope(session: Session, principal: Principal, lot_id: int) -> tuple[Lot, Market]:
    """A lot the caller may see: its contractor, the structure following its market, its buyer
    (or an admin). Out of scope, it does not exist."""
    lot = session.get(Lot, lot_id)
    market = session.get(Market, lot.market_id) if lot else None
    allowed = market is not None and (
        principal.role == Role.admin
        or (principal.role == Role.contractor and lot.contractor_id == principal.org_id)
        or (principal.role == Role.facilitator and market.structure_id == principal.org_id)
        or (principal.role == Role.buyer and market.buyer_id == principal.org_id)
    )
    if not allowed:
        raise UnknownRecord("Lot", str(lot_id))
    return lot, market


def may_declare(principal: Principal) -> None:
    """Hours are declared by the contractor holding the lot (or an operator, for a migration)."""
    require(principal, Role.contractor)


def sees_other_lots(principal: Principal) -> bool:
    """Whether a refusal may say what a person's other lots hold that month: an operator, or a
    facilitator (who reviews every line of its structure's people). A contractor learns that the
    monthly maximum is passed, never another contractor's hours."""
    return principal.role in (Role.admin, Role.facilitator)


def may_review(principal: Principal, market: Market) -> None:
    """Lines are validated by the facilitators of the structure that follows the market."""
    require(principal, Role.facilitator)
