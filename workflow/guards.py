"""Guards: pure functions of a transition's context.

Each returns the reasons (in French) why the trigger is refused; an empty list lets it pass.
"""

from __future__ import annotations

from clausier.formatting import fr_date, hours_phrase
from workflow.context import TransitionContext


def offer_can_be_prepared(ctx: TransitionContext) -> list[str]:
    market = ctx.market
    if market.coverage_flag == "ambiguous":
        return [
            "plusieurs structures couvrent le lieu d'exécution au même niveau : l'acheteur doit "
            f"en assigner une (clausier assign {market.ref} --structure REF)"
        ]
    if market.coverage_flag == "uncovered" or market.convention_id is None:
        return [
            "aucune convention de partenariat en vigueur de l'acheteur ne couvre le lieu "
            "d'exécution : pas de facilitateur, pas de clause"
        ]
    if market.structure_id is None:
        return ["aucune structure n'est assignée au marché"]
    return []


def has_reason(ctx: TransitionContext) -> list[str]:
    return (
        []
        if getattr(ctx.payload, "reason", None)
        else ['indiquez un motif (--data \'{"reason": "…"}\')']
    )


def offer_is_complete(ctx: TransitionContext) -> list[str]:
    reasons = []
    if not ctx.lots:
        reasons.append("le marché n'a aucun lot")
    ref = ctx.market.ref
    for lot in ctx.lots:
        if lot.clause_waived:  # under the floor, or no clause by the facilitator's decision
            continue
        if not lot.hours or lot.hours <= 0:
            reasons.append(
                f"le lot {lot.number} n'a pas d'heures d'insertion (> 0) : clausier offer {ref} --lot {lot.number}"
            )
        if not (lot.clause_text or "").strip():
            reasons.append(f"le lot {lot.number} n'a pas de texte de clause")
    if ctx.lots and all(lot.clause_waived for lot in ctx.lots):
        reasons.append(
            "aucun lot ne porte de clause : déclarez plutôt le marché non clausable (decline)"
        )
    if ctx.market.consultation_on is None:
        reasons.append("la date de consultation n'est pas fixée")
    return reasons


def consultation_unsuccessful(ctx: TransitionContext) -> list[str]:
    if not getattr(ctx.payload, "unsuccessful", False):
        return [
            "la consultation doit être déclarée infructueuse "
            '(--data \'{"unsuccessful": true, "reason": "…"}\')'
        ]
    return []


def every_clause_lot_has_contractor(ctx: TransitionContext) -> list[str]:
    reasons = []
    numbers = {lot.number for lot in ctx.lots}
    for number, siret in ctx.payload.contractors.items():
        if number not in numbers:
            reasons.append(f"le lot {number} n'existe pas")
        elif siret not in ctx.contractors:
            reasons.append(
                f"le titulaire du lot {number} (SIRET {siret}) est inconnu : chargez-le d'abord "
                "(clausier load)"
            )
    for lot in ctx.lots:
        if (
            lot.carries_clause
            and lot.contractor_id is None
            and lot.number not in ctx.payload.contractors
        ):
            reasons.append(f"le lot {lot.number} porte une clause mais n'a pas de titulaire")
    return reasons


def execution_is_over(ctx: TransitionContext) -> list[str]:
    ends_on = ctx.market.execution_ends_on
    if ends_on is not None and ctx.today >= ends_on:
        return []
    clause_lots = [lot for lot in ctx.lots if lot.carries_clause]
    if clause_lots and all(lot.hours_validated >= lot.hours for lot in clause_lots):
        return []
    missing = sum(max(lot.hours - lot.hours_validated, 0) for lot in clause_lots)
    when = f"le {fr_date(ends_on)}" if ends_on else "à une date non fixée"
    return [f"l'exécution se termine {when} et il manque encore {hours_phrase(missing)} à valider"]


def evaluation_recorded(ctx: TransitionContext) -> list[str]:
    reasons = []
    if not (ctx.market.evaluation or getattr(ctx.payload, "evaluation", None)):
        reasons.append('le bilan n\'est pas enregistré (--data \'{"evaluation": "Bilan : …"}\')')
    if ctx.missing_outcomes:
        codes = ", ".join(ctx.missing_outcomes[:10])
        more = (
            f" et {len(ctx.missing_outcomes) - 10} autres" if len(ctx.missing_outcomes) > 10 else ""
        )
        reasons.append(
            f"la sortie à six mois de {len(ctx.missing_outcomes)} bénéficiaire(s) n'est pas "
            f"enregistrée ({codes}{more}) : clausier evaluate {ctx.market.ref} --outcome CODE=…"
        )
    return reasons
