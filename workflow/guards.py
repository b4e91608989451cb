"""Guards: pure functions of a transition's context.

Each returns the reasons (in French) why the trigger is refused, each saying what would lift it;
an empty list lets it pass. A guard also runs before any data is given (``ctx.payload`` is None),
to tell which triggers are possible now: a reason the caller's data lifts is a ``Missing``.
"""

from __future__ import annotations

from clausier.declarations import periods
from clausier.formatting import fr_date, hours_phrase
from workflow.context import TransitionContext


class Reason(str):
    """A guard's refusal. Its text is what the CLI and the API say, with how to lift it there (a
    command, the data to send); ``words`` says it to a person on a page, in words only."""

    words: str

    def __new__(cls, text: str, *, words: str | None = None) -> Reason:
        reason = super().__new__(cls, text)
        reason.words = words or text
        return reason


def in_words(reason: str) -> str:
    return getattr(reason, "words", reason)


class Missing(Reason):
    """A reason the caller's data lifts when firing: ``needs`` names that data (« un motif »),
    so a trigger refused for nothing else is possible now, with it."""

    needs: str

    def __new__(cls, text: str, *, needs: str, words: str | None = None) -> Missing:
        reason = super().__new__(cls, text, words=words)
        reason.needs = needs
        return reason


def offer_can_be_prepared(ctx: TransitionContext) -> list[str]:
    market = ctx.market
    if market.coverage_flag == "ambiguous":
        return [
            Reason(
                "plusieurs structures couvrent le lieu d'exécution au même niveau : l'acheteur doit "
                f"en assigner une (clausier assign {market.ref} --structure REF)",
                words="plusieurs structures couvrent le lieu d'exécution au même niveau : "
                "l'acheteur doit choisir celle qui suit le marché",
            )
        ]
    if market.coverage_flag == "uncovered" or market.convention_id is None:
        coverage = ctx.coverage
        where = f", {coverage.place.label}" if coverage else ""
        when = f" le {fr_date(coverage.on)}" if coverage else ""
        return [
            f"aucune convention de partenariat de l'acheteur en vigueur{when} ne couvre le lieu "
            f"d'exécution{where}, donc pas de facilitateur, pas de clause : signez une convention "
            "qui couvre cette commune, ou étendez-y une convention existante"
        ]
    if market.structure_id is None:
        return [
            Reason(
                "aucune structure n'est assignée au marché : assignez-en une "
                f"(clausier assign {market.ref} --structure REF)",
                words="aucune structure n'est assignée au marché : l'acheteur doit en choisir une",
            )
        ]
    return []


def has_reason(ctx: TransitionContext) -> list[str]:
    return (
        []
        if getattr(ctx.payload, "reason", None)
        else [
            Missing(
                'indiquez un motif (--data \'{"reason": "…"}\')',
                needs="un motif",
                words="indiquez un motif",
            )
        ]
    )


def offer_is_complete(ctx: TransitionContext) -> list[str]:
    reasons = []
    ref = ctx.market.ref
    if not ctx.lots:
        reasons.append(
            Reason(
                "le marché n'a aucun lot : chargez ses lots (clausier load)",
                words="le marché n'a aucun lot : ajoutez-les dans la fiche du marché",
            )
        )
    for lot in ctx.lots:
        if lot.clause_waived:  # under the floor, or no clause by the facilitator's decision
            continue
        if not lot.hours or lot.hours <= 0:
            reasons.append(
                Reason(
                    f"le lot {lot.number} n'a pas d'heures d'insertion (> 0) : clausier offer {ref} --lot {lot.number}",
                    words=f"le lot {lot.number} n'a pas d'heures d'insertion : fixez-les dans l'offre d'insertion",
                )
            )
        if not (lot.clause_text or "").strip():
            reasons.append(
                Reason(
                    f"le lot {lot.number} n'a pas de texte de clause : clausier offer {ref} "
                    f"--lot {lot.number}",
                    words=f"le lot {lot.number} n'a pas de texte de clause : rédigez-le dans l'offre d'insertion",
                )
            )
    if ctx.lots and all(lot.clause_waived for lot in ctx.lots):
        reasons.append(
            Reason(
                "aucun lot ne porte de clause : déclarez plutôt le marché non clausable (decline)",
                words="aucun lot ne porte de clause : déclarez plutôt le marché non clausable",
            )
        )
    if ctx.market.consultation_on is None:
        reasons.append(
            Reason(
                "la date de consultation n'est pas fixée : indiquez-la (consultation_on, clausier load)",
                words="la date de consultation n'est pas fixée : indiquez-la dans la fiche du marché",
            )
        )
    return reasons


def consultation_unsuccessful(ctx: TransitionContext) -> list[str]:
    if not getattr(ctx.payload, "unsuccessful", False):
        return [
            Missing(
                "la consultation doit être déclarée infructueuse "
                '(--data \'{"unsuccessful": true, "reason": "…"}\')',
                needs="la consultation déclarée infructueuse et un motif",
                words="la consultation doit être déclarée infructueuse",
            )
        ]
    return []


def every_clause_lot_has_contractor(ctx: TransitionContext) -> list[str]:
    reasons = []
    numbers = {lot.number for lot in ctx.lots}
    named = getattr(ctx.payload, "contractors", {})
    for number, siret in named.items():
        if number not in numbers:
            lots = ", ".join(str(n) for n in sorted(numbers)) or "aucun"
            reasons.append(f"le lot {number} n'existe pas (lots du marché : {lots})")
        elif siret not in ctx.contractors:
            reasons.append(
                Reason(
                    f"le titulaire du lot {number} (SIRET {siret}) est inconnu : chargez-le d'abord "
                    "(clausier load)",
                    words=f"le titulaire du lot {number} (SIRET {siret}) est inconnu : "
                    "créez-le avec sa raison sociale et son adresse",
                )
            )
        elif not ctx.contractors[siret].active:
            reasons.append(
                f"le titulaire du lot {number} (SIRET {siret}), « {ctx.contractors[siret].name} », "
                "est désactivé dans l'annuaire : il ne peut plus recevoir de lot"
            )
    for lot in ctx.lots:
        if lot.carries_clause and lot.contractor_id is None and lot.number not in named:
            example = f'{{"contractors": {{"{lot.number}": "SIRET"}}}}'
            reasons.append(
                Missing(
                    f"le lot {lot.number} porte une clause mais n'a pas de titulaire : "
                    f"indiquez son SIRET (--data '{example}')",
                    needs=f"le titulaire du lot {lot.number}",
                    words=f"le lot {lot.number} porte une clause mais n'a pas de titulaire : indiquez-le",
                )
            )
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
    then = f"attendez le {fr_date(ends_on)}" if ends_on else "fixez la date de fin d'exécution"
    return [
        f"l'exécution se termine {when} et il manque encore {hours_phrase(missing)} à valider : "
        f"{then}, ou faites valider les heures qui manquent"
    ]


def evaluation_recorded(ctx: TransitionContext) -> list[str]:
    reasons = []
    if not (ctx.market.evaluation or getattr(ctx.payload, "evaluation", None)):
        reasons.append(
            Missing(
                'le bilan n\'est pas enregistré (--data \'{"evaluation": "Bilan : …"}\')',
                needs="le bilan",
                words="le bilan n'est pas enregistré : rédigez-le",
            )
        )
    if ctx.missing_outcomes:
        codes = ", ".join(ctx.missing_outcomes[:10])
        more = (
            f" et {len(ctx.missing_outcomes) - 10} autres" if len(ctx.missing_outcomes) > 10 else ""
        )
        count = len(ctx.missing_outcomes)
        whose = "d'un bénéficiaire" if count == 1 else f"de {count} bénéficiaires"
        reasons.append(
            Reason(
                f"la sortie à six mois de {count} bénéficiaire(s) n'est pas "
                f"enregistrée ({codes}{more}) : clausier evaluate {ctx.market.ref} --outcome CODE=…",
                words=f"la sortie à six mois {whose} n'est pas enregistrée ({codes}{more}) : "
                "renseignez-la dans l'évaluation",
            )
        )
    if ctx.early_outcomes:
        codes = ", ".join(ctx.early_outcomes[:10])
        more = f" et {len(ctx.early_outcomes) - 10} autres" if len(ctx.early_outcomes) > 10 else ""
        reasons.append(
            Reason(
                f"la sortie à six mois de {codes}{more} a été enregistrée avant sa date sans "
                f"motif : ré-enregistrez-la avec un motif (clausier evaluate {ctx.market.ref} "
                "--early-reason …) ou à partir de six mois après la fin d'exécution",
                words=f"la sortie à six mois de {codes}{more} a été enregistrée avant sa date "
                "sans motif : enregistrez-la de nouveau avec un motif, ou une fois la date passée",
            )
        )
    reasons.extend(_declarations_settled(ctx))
    return reasons


def _lots_and_months(items: dict[int, list[str]]) -> str:
    """« lot 1 : mai 2027 (40 h), juin 2027 (30 h) ; lot 2 : … »."""
    return " ; ".join(f"lot {number} : {', '.join(months)}" for number, months in items.items())


def _declarations_settled(ctx: TransitionContext) -> list[str]:
    """A market closes once every line is reviewed and every month executed is declared."""
    reasons = []
    if ctx.to_review:
        pending: dict[int, list[str]] = {}
        for number, period, hours in ctx.to_review:
            pending.setdefault(number, []).append(
                f"{periods.label(period)} ({hours_phrase(hours)})"
            )
        total = sum(hours for _number, _period, hours in ctx.to_review)
        where = _lots_and_months(pending)
        reasons.append(
            Reason(
                f"il reste {hours_phrase(total)} à contrôler ({where}) : validez ou rejetez "
                f"ces lignes (clausier declarations {ctx.market.ref} --lot N, puis clausier "
                "review NUMÉROS)",
                words=f"il reste {hours_phrase(total)} à contrôler ({where}) : validez ou "
                "rejetez ces lignes",
            )
        )
    if ctx.undeclared:
        awaited: dict[int, list[str]] = {}
        for number, period, deadline in ctx.undeclared:
            awaited.setdefault(number, []).append(
                f"{periods.label(period)} (au plus tard le {fr_date(deadline)})"
            )
        where = _lots_and_months(awaited)
        reasons.append(
            Reason(
                f"des mois de la période d'exécution ne sont pas encore déclarés ({where}) : le "
                f"titulaire les déclare (clausier declare {ctx.market.ref} --lot N), même sans "
                "heure, ou attendez que leur échéance passe",
                words=f"des mois de la période d'exécution ne sont pas encore déclarés ({where}) : "
                "le titulaire doit les déclarer, même sans heure, ou attendez que leur échéance "
                "passe",
            )
        )
    return reasons
