"""``clausier tasks`` (the queue) and ``clausier task …`` (what a facilitator does with one)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clausier import clock
from clausier.cli import runtime
from clausier.db.engine import session_scope
from clausier.errors import InvalidInput
from clausier.formatting import fr_moment
from clausier.partners.lookup import structure_named
from clausier.tasks import service
from clausier.tasks.ics import task_calendar
from workflow.engine import market_by_ref

task_app = typer.Typer(
    help="Une tâche de la file : la prendre, l'assigner, la terminer, l'annuler.",
    no_args_is_help=True,
)

ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Qui agit (e-mail du facilitateur).")
]


def tasks(
    structure: Annotated[
        str | None, typer.Option("--structure", help="Référence de la structure.")
    ] = None,
    facilitator: Annotated[
        str | None, typer.Option("--facilitator", help="E-mail du facilitateur.")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Type de tâche (ex. prepare_offer).")
    ] = None,
    market: Annotated[str | None, typer.Option("--market", help="Référence du marché.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Seulement les tâches en retard.")
    ] = False,
    ics: Annotated[
        bool, typer.Option("--ics", help="Un calendrier iCalendar (.ics) sur la sortie standard.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
    ] = False,
) -> None:
    """La file des tâches ouvertes : en retard d'abord, puis par échéance et priorité."""
    settings = runtime.settings().tasks
    if kind is not None and kind not in settings.kinds:
        raise InvalidInput(
            f"Type de tâche inconnu « {kind} ». Types : {', '.join(settings.kinds)}."
        )
    now = clock.now()
    with session_scope(runtime.engine()) as session:
        who = service.facilitator_by_email(session, facilitator) if facilitator else None
        rows = service.queue(
            session,
            now=now,
            structure=structure_named(session, structure) if structure else None,
            facilitator=who,
            kind=kind,
            market=market_by_ref(session, market) if market else None,
            overdue_only=overdue,
        )
        if ics:
            name = f"Clausier — {who.name}" if who else "Clausier — tâches"
            sys.stdout.buffer.write(task_calendar(rows, settings=settings, name=name, now=now))
            return
        documents = [row.as_dict(settings.kinds) for row in rows]
    if json_out:
        runtime.emit_json({"now": now.isoformat(), "tasks": documents})
        return
    if not documents:
        typer.echo("Aucune tâche ouverte.")
        return
    typer.echo(f"{len(documents)} tâche(s) ouverte(s) au {fr_moment(now)} :")
    for doc in documents:
        due = fr_moment(doc["due_at"], with_time=False)
        late = "EN RETARD " if doc["overdue"] else ""
        who_label = doc["assignee"] or "à prendre"
        typer.echo(
            f"  #{doc['id']:<5} {late}échéance {due} — {doc['label']} — {doc['market']} "
            f"({doc['market_title']}) — priorité {doc['priority']} — {doc['structure'] or 'sans structure'}, "
            f"{who_label}"
        )


@task_app.command("done")
def task_done(
    task_id: Annotated[int, typer.Argument(help="Numéro de la tâche.")],
    comment: Annotated[str | None, typer.Option("--comment", help="Un commentaire.")] = None,
    actor: ActorOption = None,
) -> None:
    """Marque une tâche comme faite."""
    with session_scope(runtime.engine()) as session:
        task = service.complete(
            session,
            task_id,
            actor=actor or runtime.default_actor(),
            now=clock.now(),
            comment=comment,
        )
    runtime.say(f"Tâche {task.id} faite.")


@task_app.command("assign")
def task_assign(
    task_id: Annotated[int, typer.Argument(help="Numéro de la tâche.")],
    to: Annotated[str, typer.Option("--to", help="E-mail du facilitateur.")],
    actor: ActorOption = None,
) -> None:
    """Assigne une tâche à un facilitateur de sa structure."""
    with session_scope(runtime.engine()) as session:
        task = service.assign(session, task_id, to=to, actor=actor or runtime.default_actor())
    runtime.say(f"Tâche {task.id} assignée à {to}.")


@task_app.command("take")
def task_take(
    task_id: Annotated[int, typer.Argument(help="Numéro de la tâche.")],
    actor: Annotated[str, typer.Option("--actor", help="Votre e-mail de facilitateur.")],
) -> None:
    """Prend une tâche pour soi."""
    with session_scope(runtime.engine()) as session:
        task = service.take(session, task_id, actor=actor)
    runtime.say(f"Tâche {task.id} prise par {actor}.")


@task_app.command("cancel")
def task_cancel(
    task_id: Annotated[int, typer.Argument(help="Numéro de la tâche.")],
    reason: Annotated[str, typer.Option("--reason", help="Pourquoi elle n'a plus lieu d'être.")],
    actor: ActorOption = None,
) -> None:
    """Annule une tâche, avec le motif."""
    with session_scope(runtime.engine()) as session:
        task = service.cancel(
            session, task_id, actor=actor or runtime.default_actor(), now=clock.now(), reason=reason
        )
    runtime.say(f"Tâche {task.id} annulée : {task.cancel_reason}")
