"""``clausier``: the command line of the product."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from clausier import clock
from clausier.auth.writes import operator_import
from clausier.cli import execution, runtime, usage
from clausier.cli.demo import demo_data as demo_data_command
from clausier.cli.errors import exit_code_for
from clausier.cli.offers import offer as offer_command
from clausier.cli.reminders import reminders_app
from clausier.cli.reminders import worker as worker_command
from clausier.cli.render import print_coverage, print_status
from clausier.cli.reports import report as report_command
from clausier.cli.serve import serve as serve_command
from clausier.cli.serve import token_app
from clausier.cli.tasks import task_app
from clausier.cli.tasks import tasks as tasks_command
from clausier.db import migrate
from clausier.db.engine import session_scope
from clausier.errors import ClausierError, InvalidInput
from clausier.loading.loader import KIND_LABELS, load
from clausier.markets.status import market_overview
from clausier.partners.lookup import buyer_named, structure_named
from clausier.partnerships import assignment
from clausier.partnerships import service as conventions
from clausier.partnerships.periods import last_day_in_force
from clausier.partnerships.report import coverage_report
from workflow.engine import fire as fire_trigger
from workflow.engine import market_by_ref
from workflow.lifecycle import STATE_LABELS

app = typer.Typer(
    help="Clausier : les marchés publics à clause sociale d'insertion, de l'identification au bilan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
convention_app = typer.Typer(
    help="Conventions de partenariat acheteur ↔ structure.", no_args_is_help=True
)
app.add_typer(convention_app, name="convention")
app.add_typer(task_app, name="task")
app.command("tasks")(tasks_command)
app.command("offer")(offer_command)
app.command("report")(report_command)
app.add_typer(reminders_app, name="reminders")
app.add_typer(token_app, name="token")
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(execution.beneficiary_app, name="beneficiary")
app.command("declare")(execution.declare)
app.command("declarations")(execution.declarations)
app.command("review")(execution.review_command)
app.command("evaluate")(execution.evaluate)
app.command("purge")(execution.purge_command)
app.command("demo-data")(demo_data_command)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
]


@app.callback()
def _start() -> None:
    """Validate the configuration before any command runs."""
    logging.basicConfig(
        level=runtime.settings().logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def init() -> None:
    """Crée la base de données ou la met à jour (migrations), avec les tables de référence."""
    before, after = migrate.upgrade(runtime.engine())
    url = runtime.engine().url.render_as_string(hide_password=True)
    if before == after:
        runtime.say(f"Base à jour ({after}) : {url}")
    elif before is None:
        runtime.say(f"Base créée ({after}) : {url}")
    else:
        runtime.say(f"Base mise à jour de {before} à {after} : {url}")


@app.command("load")
def load_file(
    file: Annotated[Path, typer.Argument(help="Fichier YAML (ou CSV de marchés et lots).")],
    json_out: JsonOption = False,
) -> None:
    """Charge acheteurs, structures, titulaires, conventions, marchés et lots (tout ou rien)."""
    with session_scope(runtime.engine()) as session:
        report = load(session, file, writer=operator_import(), today=clock.today())
    if json_out:
        runtime.emit_json(report.as_dict())
        return
    parts = []
    for kind, counts in report.counts.items():
        if counts:
            detail = ", ".join(
                f"{n} {label}"
                for label, n in (
                    ("créé(s)", counts["created"]),
                    ("mis à jour", counts["updated"]),
                    ("inchangé(s)", counts["unchanged"]),
                )
                if n
            )
            parts.append(f"  {KIND_LABELS[kind]} : {detail}")
    runtime.say(f"{file} chargé :\n" + "\n".join(parts))
    for notice in report.notices:
        runtime.say(f"  Remarque : {notice}")


@app.command()
def status(
    ref: Annotated[str, typer.Argument(help="Référence du marché, ex. MKT-2027-001.")],
    json_out: JsonOption = False,
) -> None:
    """État d'un marché : structure assignée, lots et heures, historique, suites possibles."""
    with session_scope(runtime.engine()) as session:
        document = market_overview(
            session,
            market_by_ref(session, ref),
            today=clock.today(),
            now=clock.now(),
            settings=runtime.settings(),
        )
    if json_out:
        runtime.emit_json(document)
    else:
        print_status(document)


@app.command()
def fire(
    ref: Annotated[str, typer.Argument(help="Référence du marché.")],
    trigger: Annotated[str, typer.Argument(help="Déclencheur : prepare_offer, publish, award…")],
    data: Annotated[str | None, typer.Option("--data", help="Données JSON du déclencheur.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Qui agit (e-mail).")] = None,
) -> None:
    """Fait avancer un marché dans son cycle de vie."""
    payload = None
    if data:
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"--data n'est pas du JSON valide : {exc.msg} (colonne {exc.colno})."
            ) from exc
        if not isinstance(payload, dict):
            raise InvalidInput('--data doit être un objet JSON, par exemple \'{"reason": "…"}\'.')
    with session_scope(runtime.engine()) as session:
        fired = fire_trigger(
            session, ref=ref, trigger=trigger, actor=actor or runtime.default_actor(), data=payload
        )
    runtime.say(
        f"{fired.market} : {STATE_LABELS[fired.from_state]} → {STATE_LABELS[fired.to_state]} "
        f"({fired.trigger}, version {fired.version})."
    )


@app.command()
def assign(
    ref: Annotated[str, typer.Argument(help="Référence du marché.")],
    structure: Annotated[
        str, typer.Option("--structure", help="Référence de la structure choisie.")
    ],
    actor: Annotated[str | None, typer.Option("--actor", help="Qui agit (e-mail).")] = None,
) -> None:
    """Assigne explicitement une structure à un marché (choix de l'acheteur en cas d'ambiguïté)."""
    today = clock.today()
    with session_scope(runtime.engine()) as session:
        market = market_by_ref(session, ref)
        chosen = structure_named(session, structure)
        convention = assignment.assign_explicitly(
            session, market, structure=chosen, today=today, actor=actor or runtime.default_actor()
        )
        until = last_day_in_force(convention, today)
    runtime.say(
        f"{ref} : suivi par {chosen.name} au titre de la convention {convention.ref} "
        f"(en vigueur jusqu'au {until:%d/%m/%Y} au moins)."
    )


@app.command()
def coverage(
    buyer: Annotated[
        str | None, typer.Option("--buyer", help="Nom ou SIRET de l'acheteur.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Couverture des marchés par les conventions, et les communes sans facilitateur."""
    with session_scope(runtime.engine()) as session:
        chosen = buyer_named(session, buyer) if buyer else None
        document = coverage_report(session, today=clock.today(), buyer=chosen)
    if json_out:
        runtime.emit_json(document)
    else:
        print_coverage(document)


@convention_app.command("renew")
def convention_renew(
    ref: Annotated[str, typer.Argument(help="Référence de la convention.")],
) -> None:
    """Renouvelle pour une période une convention à reconduction expresse."""
    today = clock.today()
    with session_scope(runtime.engine()) as session:
        convention = conventions.renew(session, ref, today=today, actor=runtime.default_actor())
        until = last_day_in_force(convention, today)
    runtime.say(f"Convention {ref} renouvelée : en vigueur jusqu'au {until:%d/%m/%Y}.")


@convention_app.command("terminate")
def convention_terminate(
    ref: Annotated[str, typer.Argument(help="Référence de la convention.")],
    on: Annotated[str, typer.Option("--on", help="Date d'effet de la résiliation (AAAA-MM-JJ).")],
) -> None:
    """Résilie une convention à compter d'une date."""
    try:
        day = date.fromisoformat(on)
    except ValueError as exc:
        raise InvalidInput(f"--on « {on} » : attendu une date AAAA-MM-JJ.") from exc
    with session_scope(runtime.engine()) as session:
        changes = conventions.terminate(
            session, ref, on=day, today=clock.today(), actor=runtime.default_actor()
        )
    runtime.say(f"Convention {ref} résiliée à compter du {day:%d/%m/%Y}.")
    for change in changes:
        flag = {"uncovered": "n'est plus couvert", "ambiguous": "est couvert de façon ambiguë"}.get(
            change.coverage_flag or "", "a été réassigné"
        )
        runtime.say(f"  {change.ref} {flag}.")


@cache
def _command() -> typer.core.TyperGroup:
    """The Click command Typer builds from ``app``, once, with its help in French."""
    return usage.frenchify(typer.main.get_command(app))


def run(argv: list[str] | None = None) -> int:
    """Run one command; domain and usage errors become a French message and their exit code,
    never a trace nor Click's English."""
    try:
        result = _command().main(args=argv, prog_name="clausier", standalone_mode=False)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except usage.ClickException as error:
        return usage.report(error)
    except typer.Abort:
        runtime.say("Abandon.")
        return 1
    except ClausierError as error:
        runtime.say(f"Erreur : {error}")
        return exit_code_for(error)
    except OperationalError as error:
        runtime.say(
            "Erreur : base de données inaccessible ou non initialisée "
            f"({error.orig.__class__.__name__} : {str(error.orig).strip()}). "
            "Lancez « clausier init » ou vérifiez database.url."
        )
        return 2
    return result if isinstance(result, int) else 0  # typer.Exit(code) comes back as its code


def main() -> None:
    sys.exit(run())
