"""Who may do what: each action a person can take, the roles that may take it, and the words
that say so when they may not. The API, the pages (their menus and buttons too) and the CLI ask
these functions; none decides by comparing roles itself. *Whose* data an action reaches is
``clausier.auth.scope``'s."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clausier.auth.models import Role
from clausier.auth.tokens import Principal
from clausier.auth.writes import market_writer
from clausier.errors import Forbidden


class Action(StrEnum):
    read_markets = "read_markets"
    write_markets = "write_markets"
    read_tasks = "read_tasks"
    act_on_tasks = "act_on_tasks"
    read_coverage = "read_coverage"
    settle_coverage = "settle_coverage"
    list_own_lots = "list_own_lots"
    declare_hours = "declare_hours"
    review_hours = "review_hours"
    keep_people = "keep_people"
    read_eligibility = "read_eligibility"
    read_reports = "read_reports"
    evaluate = "evaluate"
    read_conventions = "read_conventions"
    write_conventions = "write_conventions"
    manage_directory = "manage_directory"
    read_offer = "read_offer"
    edit_offer = "edit_offer"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    refusal: str  # French: whose action it is
    admin: bool = True  # an operator may too (not where it would read personal data)


B, F, C = Role.buyer, Role.facilitator, Role.contractor
RULES: dict[Action, Rule] = {
    Action.read_markets: Rule(frozenset({B, F, C}), "Les marchés sont lus par leurs parties."),
    Action.write_markets: Rule(frozenset({B}), "Les marchés sont saisis par leur acheteur."),
    Action.read_tasks: Rule(frozenset({F, B}), "La file des tâches est celle des facilitateurs."),
    Action.act_on_tasks: Rule(frozenset({F}), "Les tâches sont faites par les facilitateurs."),
    Action.read_coverage: Rule(
        frozenset({B, F}), "La couverture est celle des acheteurs et des structures qui les accompagnent."
    ),
    Action.settle_coverage: Rule(
        frozenset({B}), "Le choix de la structure qui suit un marché revient à son acheteur."
    ),
    Action.list_own_lots: Rule(
        frozenset({C}),
        "Cette page liste les lots d'un titulaire ; les relevés se consultent depuis la page de chaque marché.",
        admin=False,
    ),
    Action.declare_hours: Rule(
        frozenset({C}), "Seul le titulaire du lot déclare ses heures ; cette page vous est ouverte en lecture."
    ),
    Action.review_hours: Rule(frozenset({F}), "Le contrôle des heures déclarées est fait par les facilitateurs."),
    Action.keep_people: Rule(
        frozenset({F}), "Les bénéficiaires sont enregistrés et consultés par les facilitateurs de leur structure.",
        admin=False,
    ),
    # a worker's eligibility criterion (RSA, RQTH…), sex and age band: the facilitators keep it
    # from the employer, who sees each worker's code, modality and hours only (DOMAIN.md)
    Action.read_eligibility: Rule(
        frozenset({B, F}),
        "Le public éligible d'une personne est connu des facilitateurs et de l'acheteur ; "
        "le titulaire voit son code, sa modalité et ses heures.",
    ),
    Action.read_reports: Rule(frozenset({B, F}), "Les rapports sont ceux des acheteurs et des facilitateurs."),
    Action.evaluate: Rule(
        frozenset({F}),
        "L'évaluation est renseignée par les facilitateurs de la structure qui suit le marché, "
        "une fois celui-ci en évaluation.",
    ),
    Action.read_conventions: Rule(frozenset({B, F}), "Les conventions sont celles des acheteurs et des structures."),
    Action.write_conventions: Rule(frozenset({B}), "Les conventions sont passées par l'acheteur."),
    Action.manage_directory: Rule(frozenset(), "L'annuaire et les accès sont gérés par l'administration."),
    # the offer's computation is the buyer's and the facilitators' working paper; the contractor
    # reads the clause in the tender documents
    Action.read_offer: Rule(
        frozenset({B, F}), "Le détail de l'offre d'insertion est consulté par l'acheteur et les facilitateurs.",
    ),
    # the facilitator prepares the offer (service 3 of a convention), or the buyer when its
    # convention lacks that service (``may_edit_offer``); an operator reads it
    Action.edit_offer: Rule(
        frozenset({B, F}),
        "L'offre d'insertion est préparée par les facilitateurs de la structure qui suit le marché, "
        "ou par l'acheteur quand sa convention n'inclut pas ce service ; cette page vous est "
        "ouverte en lecture.",
        admin=False,
    ),
}  # fmt: skip


# who may fire which trigger (an admin may fire all)
TRIGGER_ROLES: dict[str, frozenset[Role]] = {
    "prepare_offer": frozenset({Role.buyer, Role.facilitator}),
    "decline": frozenset({Role.buyer, Role.facilitator}),
    "publish": frozenset({Role.buyer}),
    "relaunch": frozenset({Role.buyer}),
    "award": frozenset({Role.buyer}),
    "abandon": frozenset({Role.buyer}),
    "complete": frozenset({Role.buyer, Role.facilitator}),
    "close": frozenset({Role.buyer, Role.facilitator}),
}


def may(principal: Principal, action: Action) -> bool:
    rule = RULES[action]
    return principal.role in rule.roles or (rule.admin and principal.role == Role.admin)


def require_to(principal: Principal, action: Action) -> None:
    """Refuse (``Forbidden``, in words) an action the caller's role may not take."""
    if not may(principal, action):
        raise Forbidden(RULES[action].refusal)


def may_on_market(principal: Principal, action: Action, market) -> bool:
    """An action on one market that depends on its state and who follows it."""
    if action == Action.evaluate:
        return (
            may(principal, action)
            and market.state == "evaluation"
            and (principal.role == Role.admin or principal.org_id == market.structure_id)
        )
    if action == Action.edit_offer:
        raise TypeError("the offer's editor depends on who prepares it: use may_edit_offer")
    if action == Action.write_markets:  # how far: clausier.auth.writes (a buyer: identification)
        return may(principal, action) and market_writer(principal).edits(market)
    return may(principal, action)


def require_on_market(principal: Principal, action: Action, market) -> None:
    if not may_on_market(principal, action, market):
        raise Forbidden(RULES[action].refusal)


def may_edit_offer(principal: Principal, market, *, preparer: int | None) -> bool:
    """Whoever holds the offer's task edits it (the state is the offer's to check):
    ``preparer`` is the structure that prepares it (``tasks.planning.serving``), None when the
    market's buyer does, its convention lacking the service."""
    if not may(principal, Action.edit_offer):
        return False
    if principal.role == Role.buyer:
        return preparer is None and principal.org_id == market.buyer_id
    return preparer is not None and principal.org_id == preparer


def require_edit_offer(principal: Principal, market, *, preparer: int | None) -> None:
    if not may_edit_offer(principal, market, preparer=preparer):
        raise Forbidden(RULES[Action.edit_offer].refusal)


def fires(principal: Principal, trigger: str) -> bool:
    """Whether the caller's role may fire ``trigger``: the market page shows it a button only
    then, and ``may_fire`` refuses the others."""
    return principal.role == Role.admin or principal.role in TRIGGER_ROLES.get(trigger, ())


def may_fire(principal: Principal, trigger: str) -> None:
    if not fires(principal, trigger):
        allowed = TRIGGER_ROLES.get(trigger, frozenset())
        raise Forbidden(
            f"Le rôle « {principal.role.value} » ne peut pas déclencher « {trigger} » "
            f"(réservé à : {', '.join(sorted(r.value for r in allowed)) or 'l’administration'})."
        )


def menu(principal: Principal) -> frozenset[Action]:
    """What the caller may do, for a page's menu and buttons."""
    return frozenset(action for action in Action if may(principal, action))
