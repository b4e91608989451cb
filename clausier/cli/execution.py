"""The execution of a clause from the command line: beneficiaries, declarations, review,
evaluation and the purge of personal data.

The command line is the operator's: it shows pseudonymous codes, never names (names are read
in the web pages by the facilitators of the structure).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import select

from clausier import clock
from clausier.beneficiaries import eligibility, outcomes, purge, service
from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    BODY_KIND_SHORT_LABELS,
    OUTCOMES,
    PUBLICS,
    choices,
)
from clausier.cli import runtime
from clausier.db.engine import session_scope
from clausier.declarations import csv_upload, views
from clausier.declarations.bodies import cost_words
from clausier.declarations.models import LineStatus
from clausier.declarations.service import Decision, declare_months, review
from clausier.errors import InvalidInput, UnknownRecord
from clausier.formatting import fr_date, fr_number
from clausier.markets.models import Lot
from clausier.partners.lookup import structure_named
from workflow.engine import market_by_ref

beneficiary_app = typer.Typer(
    help="Les bénéficiaires (codes pseudonymes) suivis par une structure.", no_args_is_help=True
)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
]


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{option} « {value} » : attendu une date AAAA-MM-JJ.") from exc


@beneficiary_app.command("add")
def beneficiary_add(
    structure: Annotated[str, typer.Option("--structure", help="Référence de la structure.")],
    public: Annotated[list[str], typer.Option("--public", help=f"Public éligible, un ou plusieurs (--public minima_sociaux --public qpv) : {choices(PUBLICS)}.")],
    sex: Annotated[str, typer.Option("--sex", help="F ou M.")],
    age_band: Annotated[str, typer.Option("--age-band", help=f"Tranche d'âge : {choices(AGE_BANDS)}.")],
    checked_by: Annotated[str, typer.Option("--checked-by", help="E-mail du facilitateur qui a vérifié l'éligibilité.")],
    checked_on: Annotated[str | None, typer.Option("--checked-on", help="Date de la vérification (AAAA-MM-JJ ; défaut : aujourd'hui).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Motif, pour un public « other ».")] = None,
    pass_iae: Annotated[bool, typer.Option("--pass-iae", help="Le public « siae » est vérifié sur un PASS IAE (valable plus longtemps qu'un diagnostic).")] = False,
    json_out: JsonOption = False,
) -> None:  # fmt: skip
    """Enregistre un bénéficiaire ; Clausier lui délivre un code pseudonyme (B-…)."""
    registration = service.Registration(
        publics=tuple(public), sex=sex.upper(), age_band=age_band, checked_by=checked_by,
        checked_on=_day(checked_on, "--checked-on") if checked_on else clock.today(),
        public_reason=reason, pass_iae=pass_iae,
    )  # fmt: skip
    with session_scope(runtime.engine()) as session:
        person = service.register(
            session, structure_named(session, structure), registration,
            today=clock.today(), now=clock.now(),
        )  # fmt: skip
        code = person.code
    if json_out:
        runtime.emit_json({"code": code})
        return
    runtime.say(f"Bénéficiaire enregistré : {code} (code à communiquer au titulaire).")


@beneficiary_app.command("check")
def beneficiary_check(
    code: Annotated[str, typer.Argument(help="Code du bénéficiaire (B-…).")],
    structure: Annotated[str, typer.Option("--structure", help="Référence de la structure.")],
    public: Annotated[str, typer.Option("--public", help=f"Le public vérifié : {choices(PUBLICS)}.")],
    checked_by: Annotated[str, typer.Option("--checked-by", help="E-mail du facilitateur qui a vérifié l'éligibilité.")],
    checked_on: Annotated[str | None, typer.Option("--checked-on", help="Date de la vérification (AAAA-MM-JJ ; défaut : aujourd'hui).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Motif, pour un public « other ».")] = None,
    pass_iae: Annotated[bool, typer.Option("--pass-iae", help="Le public « siae » est vérifié sur un PASS IAE.")] = False,
) -> None:  # fmt: skip
    """Enregistre une nouvelle vérification d'un critère (renouvelée, ou un critère de plus) : les
    heures comptent à nouveau à partir de sa date, pour sa durée de validité."""
    settings = runtime.settings()
    day = _day(checked_on, "--checked-on") if checked_on else clock.today()
    with session_scope(runtime.engine()) as session:
        own = structure_named(session, structure)
        person = service.by_code(session, code, structure_id=own.id)
        row = service.record_check(
            session, own, person,
            service.Check(public=public, checked_by=checked_by, checked_on=day, reason=reason,
                          pass_iae=pass_iae),
            today=clock.today(), now=clock.now(),
        )  # fmt: skip
        until = eligibility.valid_until(
            eligibility.Check(row.public, row.checked_on, row.pass_iae), settings.eligibility
        )
        person_code = person.code
    runtime.say(
        f"Vérification enregistrée pour {person_code} ({PUBLICS[public]}) : le {fr_date(day)}, "
        f"valable jusqu'au {fr_date(until)}."
    )


@beneficiary_app.command("list")
def beneficiary_list(
    structure: Annotated[str, typer.Option("--structure", help="Référence de la structure.")],
    json_out: JsonOption = False,
) -> None:
    """Les bénéficiaires d'une structure (codes, publics ; jamais les noms)."""
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session:
        own = structure_named(session, structure)
        items = service.documents(
            session, service.listing(session, own.id), role="operator", org_id=None,
            settings=settings.eligibility, today=clock.today(),
        )  # fmt: skip
    if json_out:
        runtime.emit_json({"items": items})
        return
    runtime.say(f"{len(items)} bénéficiaire(s) suivi(s) par {structure} :")
    for item in items:
        criteria = " ; ".join(
            f"{criterion['public_label']}, vérifié le {fr_date(criterion['checked_on'])} par "
            f"{criterion['checked_by']}, valable jusqu'au {fr_date(criterion['valid_until'])}"
            for criterion in item["criteria"]
        )
        runtime.say(f"  {item['code']} — {item['sex']}, {item['age_band_label']} — {criteria}")


def _lot(session, ref: str, number: int) -> Lot:
    market = market_by_ref(session, ref)
    lot = session.exec(select(Lot).where(Lot.market_id == market.id, Lot.number == number)).first()
    if lot is None:
        raise UnknownRecord("Lot", f"{ref} lot {number}")
    return lot


def declare(
    ref: Annotated[str, typer.Argument(help="Référence du marché.")],
    lot: Annotated[int, typer.Option("--lot", help="Numéro du lot.")],
    file: Annotated[Path, typer.Option("--file", help="CSV : beneficiaire;modalite;heures[;type_contrat][;mois].")],
    period: Annotated[str | None, typer.Option("--period", help="Le mois (AAAA-MM), sans colonne « mois ».")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Qui déclare.")] = "operator:cli",
) -> None:  # fmt: skip
    """Déclare les heures d'un lot, mois par mois, depuis un CSV (tout ou rien)."""
    if not file.is_file():
        raise InvalidInput(f"{file} : fichier introuvable.")
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session, file.open("rb") as data:
        target = _lot(session, ref, lot)
        months = csv_upload.by_period(data, source=str(file), period=period,
                                      max_lines=settings.limits.statement_lines)  # fmt: skip
        results = declare_months(  # the operator, who sees every lot
            session, lot=target, months=months, source=str(file), actor=actor,
            settings=runtime.settings(), today=clock.today(), now=clock.now(), show_other_lots=True,
        )  # fmt: skip
        summary = [(r.statement.period, r.added, r.changed, r.withdrawn) for r in results]
    for month, added, changed, withdrawn in summary:
        runtime.say(f"{ref} lot {lot}, {month} : {added} ligne(s) ajoutée(s), {changed} modifiée(s), {withdrawn} retirée(s).")  # fmt: skip


def declarations(
    ref: Annotated[str, typer.Argument(help="Référence du marché.")],
    lot: Annotated[int, typer.Option("--lot", help="Numéro du lot.")] = 1,
    json_out: JsonOption = False,
) -> None:
    """Les relevés mensuels d'un lot et leur contrôle (codes des bénéficiaires, pas de noms)."""
    with session_scope(runtime.engine()) as session:
        target = _lot(session, ref, lot)
        statements = views.lot_statements(
            session, target, role="operator", org_id=None, eligibility=True
        )
        totals = (target.hours, str(target.hours_validated))
    if json_out:
        runtime.emit_json({"market": ref, "lot": lot, "hours": totals[0],
                           "hours_validated": totals[1], "statements": statements})  # fmt: skip
        return
    runtime.say(f"{ref} lot {lot} : {totals[1]} h validées sur {totals[0]} h requises.")
    for statement in statements:
        runtime.say(f"  {statement['period_label']} (déclaré le {statement['declared_at'][:10]}) :")
        if not statement["lines"]:
            runtime.say("    aucune heure ce mois-ci")
        for line in statement["lines"]:
            why = f" — {line['review_reason']}" if line["review_reason"] else ""
            runtime.say(f"    #{line['id']} {_who(line)} {line['modality_label']}{_body(line)} {line['hours']} h{_invoice(line)} : {line['status_label']}{why}")  # fmt: skip


def _who(line: dict) -> str:
    """The person's code, or the invoice a subcontract is counted by."""
    return line["beneficiary"] or f"facture {line['invoice_ref']}"


def _body(line: dict) -> str:
    if not line.get("body_kind"):
        return ""
    return f" ({BODY_KIND_SHORT_LABELS[line['body_kind']]} {line['body_siret']})"


def _invoice(line: dict) -> str:
    if not line.get("invoice_ref"):
        return ""
    cost = cost_words(Decimal(line["hourly_cost"]), line["hourly_cost_source"] or "")
    return f" ({fr_number(Decimal(line['invoice_amount']))} € HT ÷ {cost})"


def review_command(
    lines: Annotated[list[int], typer.Argument(help="Numéros des lignes.")],
    validate: Annotated[bool, typer.Option("--validate", help="Valider les lignes.")] = False,
    reject: Annotated[str | None, typer.Option("--reject", help="Rejeter, avec ce motif.")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Qui contrôle (e-mail du facilitateur).")] = "operator:cli",
) -> None:  # fmt: skip
    """Valide ou rejette (avec le motif) des lignes déclarées."""
    if validate == (reject is not None):
        raise InvalidInput("Choisissez --validate ou --reject MOTIF.")
    decisions = [Decision(line, validate, reject) for line in lines]
    with session_scope(runtime.engine()) as session:
        done = review(session, decisions, actor=actor, settings=runtime.settings(),
                      today=clock.today(), now=clock.now())  # fmt: skip
        statuses = [(line.id, line.status) for line in done]
    for line_id, line_status in statuses:
        runtime.say(
            f"Ligne {line_id} : {'validée' if line_status == LineStatus.validated else 'rejetée'}."
        )


def evaluate(
    ref: Annotated[str, typer.Argument(help="Référence du marché (en évaluation).")],
    summary: Annotated[str | None, typer.Option("--summary", help="Le bilan de la clause.")] = None,
    outcome: Annotated[list[str] | None, typer.Option("--outcome", help=f"CODE=SORTIE ({choices(OUTCOMES)}), répétable.")] = None,
    early_reason: Annotated[str | None, typer.Option("--early-reason", help="Pourquoi les sorties sont enregistrées avant six mois après la fin d'exécution.")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Qui enregistre.")] = "operator:cli",
    json_out: JsonOption = False,
) -> None:  # fmt: skip
    """Enregistre le bilan et la sortie à six mois de chaque bénéficiaire ; « close » les attend."""
    pairs = {}
    for item in outcome or []:
        code, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(
                f"--outcome « {item} » : attendu CODE=SORTIE, ex. B-7K2M4Q1A=durable_employment."
            )
        pairs[code.strip()] = value.strip()
    with session_scope(runtime.engine()) as session:
        market = market_by_ref(session, ref)
        missing = outcomes.record(session, market, summary=summary, outcomes=pairs, actor=actor,
                                  now=clock.now(), early_reason=early_reason)  # fmt: skip
        has_summary = bool(market.evaluation)
    if json_out:
        runtime.emit_json({"market": ref, "summary_recorded": has_summary, "missing": missing})
        return
    runtime.say(f"{ref} : {len(pairs)} sortie(s) enregistrée(s).")
    if missing:
        runtime.say(f"  Sorties encore à enregistrer : {', '.join(missing)}.")
    if not has_summary:
        runtime.say("  Le bilan n'est pas encore enregistré (--summary).")
    if has_summary and not missing:
        runtime.say(f"  Le marché peut être clos : clausier fire {ref} close")


_YES = ("o", "oui", "y", "yes")


def _people(count: int) -> str:
    return f"{count} bénéficiaire{'s' if count > 1 else ''}"


def _confirmed(question: str) -> bool:
    """Ask the person at the terminal; anything but a clear yes (or Ctrl-C, Ctrl-D) is a no."""
    try:
        answer = typer.prompt(
            f"{question} [o/N]", default="", show_default=False, prompt_suffix=" ", err=True
        )
    except typer.Abort:
        return False
    return answer.strip().lower() in _YES


def purge_command(
    closed_before: Annotated[str | None, typer.Option("--closed-before", help="Marchés clos (et personnes jamais déclarées enregistrées) avant cette date (AAAA-MM-JJ), au plus tard aujourd'hui moins la durée de conservation ; par défaut, cette date-là.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Dire ce qui serait effacé, sans rien effacer.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Effacer sans demander de confirmation (scripts).")] = False,
    json_out: JsonOption = False,
) -> None:  # fmt: skip
    """Efface les données personnelles des bénéficiaires des marchés clos avant une date, et
    celles des personnes enregistrées avant elle et jamais déclarées.

    Sans --closed-before, la date est aujourd'hui moins la durée de conservation
    (beneficiaries.retention_months). Sur un terminal, montre ce qui sera effacé et demande
    confirmation ; sinon, --yes.
    """
    retention = runtime.settings().beneficiaries.retention_months
    day = (
        _day(closed_before, "--closed-before")
        if closed_before is not None
        else purge.latest_date(today=clock.today(), retention_months=retention)
    )
    purge.check_date(day, today=clock.today(), retention_months=retention)
    asking = not (dry_run or yes)
    if asking and not sys.stdin.isatty():
        raise InvalidInput(
            "Effacement non confirmé : sans terminal, ajoutez --yes pour effacer "
            "(ou --dry-run pour voir ce qui serait effacé). Rien n'a été effacé."
        )

    def run(dry: bool) -> purge.PurgeReport:
        with session_scope(runtime.engine()) as session:
            return purge.purge(session, closed_before=day, today=clock.today(), now=clock.now(),
                               retention_months=retention, dry_run=dry)  # fmt: skip

    report = run(dry=dry_run or asking)
    if asking and report.people:
        _say_purge(report, preview=True)
        if not _confirmed(f"Effacer les données personnelles de {_people(report.people)} ?"):
            runtime.say("Effacement annulé : rien n'a été effacé.")
            return
        report = run(dry=False)  # the selection again, in the transaction that erases
    elif asking:
        report = replace(report, dry_run=False)  # nothing to erase: what a real run would say
    if json_out:
        runtime.emit_json(report.as_dict())
        return
    _say_purge(report)


def _say_purge(report: purge.PurgeReport, *, preview: bool = False) -> None:
    day, markets, erased = report.closed_before, report.markets, report.erased
    runtime.say(f"Marchés clos avant le {day:%d/%m/%Y} : {len(markets)} ({', '.join(markets) or 'aucun'}).")  # fmt: skip
    done = "à effacer" if report.dry_run else "effacées"
    runtime.say(
        f"Données personnelles {done} (nom, motif d'éligibilité) : {_people(report.people)}."
    )
    for code in erased:
        runtime.say(f"  {code} : {'à effacer' if report.dry_run else 'effacé'}")
    for code in report.never_declared:
        word = "à effacer" if report.dry_run else "effacé"
        runtime.say(f"  {code} : {word} (enregistré avant le {day:%d/%m/%Y}, jamais déclaré)")
    for code in report.kept:
        runtime.say(f"  {code} : conservé (heures sur un marché encore ouvert ou clos plus tard)")
    if report.dry_run and not preview:
        runtime.say("Simulation (--dry-run) : rien n'a été effacé.")
    runtime.say("Les codes, publics, heures et sorties sont conservés pour les statistiques.")
