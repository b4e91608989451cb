"""``clausier reminders …`` and ``clausier worker``: the sweep by hand or on a schedule."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer
from sqlmodel import Session, select

from clausier import clock
from clausier.cli import runtime
from clausier.db.engine import session_scope
from clausier.errors import InvalidInput, Refused, UnknownRecord
from clausier.formatting import fr_moment
from clausier.markets.models import Market
from notifications import sweep
from notifications.models import (
    REMINDER_STATUS_LABELS,
    MessageStatus,
    OutboxMessage,
    Reminder,
    ReminderStatus,
)
from notifications.worker import run_forever
from workflow.engine import market_by_ref

reminders_app = typer.Typer(
    help="Les rappels : les envoyer, les lister, relancer un échec.", no_args_is_help=True
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _say_report(report: sweep.SweepReport) -> None:
    runtime.say(
        f"Passage terminé : {report.planned} rappel(s) planifié(s), {report.handed} confié(s) à l'envoi, "
        f"{report.cancelled} annulé(s) (plus d'objet), {report.delivered} message(s) envoyé(s), "
        f"{report.retried} à retenter, {report.failed} en échec."
    )
    for note in report.notes:
        runtime.say(f"  {note}")


@reminders_app.command("run-once")
def run_once() -> None:
    """Un passage : planifier, confier les rappels échus à l'envoi, envoyer."""
    report = sweep.run_once(
        runtime.engine(), runtime.settings(), worker=worker_name(), now=clock.now()
    )
    _say_report(report)


@reminders_app.command("list")
def list_reminders(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, sent, failed ou cancelled.")
    ] = None,
    market: Annotated[str | None, typer.Option("--market", help="Référence du marché.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Nombre maximum de lignes.")] = 100,
    json_out: Annotated[
        bool, typer.Option("--json", help="Un document JSON sur la sortie standard.")
    ] = False,
) -> None:
    """Ce qui a été envoyé, ce qui attend, ce qui a échoué."""
    if status is not None and status not in REMINDER_STATUS_LABELS:
        raise InvalidInput(f"Statut inconnu « {status} » : {', '.join(REMINDER_STATUS_LABELS)}.")
    with session_scope(runtime.engine()) as session:
        query = (
            select(Reminder, Market.ref, OutboxMessage)
            .outerjoin(Market, Market.id == Reminder.market_id)
            .outerjoin(OutboxMessage, OutboxMessage.id == Reminder.message_id)
        )
        if status:
            query = query.where(Reminder.status == status)
        if market:
            query = query.where(Reminder.market_id == market_by_ref(session, market).id)
        rows = session.exec(query.order_by(Reminder.due_at, Reminder.id).limit(limit)).all()
        documents = [
            {
                "id": r.id, "rule": r.rule, "status": r.status, "due_at": r.due_at.isoformat(),
                "market": ref, "recipient_role": r.recipient_role, "recipient": r.recipient_email,
                "message_status": m.status if m else None, "attempts": m.attempts if m else 0,
                "error": (m.last_error if m else None) or r.cancel_reason, "sent_at": m.sent_at.isoformat() if m and m.sent_at else None,
            }
            for r, ref, m in rows
        ]  # fmt: skip
    if json_out:
        runtime.emit_json({"reminders": documents})
        return
    if not documents:
        typer.echo("Aucun rappel.")
    for doc in documents:
        due = fr_moment(doc["due_at"])
        state = REMINDER_STATUS_LABELS[doc["status"]]
        if doc["status"] == "pending" and doc["message_status"] == "pending":
            state = f"en cours d'envoi ({doc['attempts']} tentative(s))"
        who = doc["recipient"] or doc["recipient_role"]
        error = f" — {doc['error']}" if doc["error"] else ""
        typer.echo(
            f"  #{doc['id']:<6} {due}  {doc['rule']:<30} {doc['market'] or '':<14} {who:<35} {state}{error}"
        )


@reminders_app.command("retry")
def retry(reminder_id: Annotated[int, typer.Argument(help="Numéro du rappel en échec.")]) -> None:
    """Relance à la main un rappel en échec."""
    with session_scope(runtime.engine()) as session:
        reminder = session.get(Reminder, reminder_id)
        if reminder is None:
            raise UnknownRecord("Rappel", str(reminder_id))
        if reminder.status != ReminderStatus.failed:
            raise Refused(
                f"Le rappel {reminder_id} n'est pas en échec ({REMINDER_STATUS_LABELS[reminder.status]})."
            )
        _requeue(session, reminder)
    runtime.say(f"Rappel {reminder_id} remis dans la file d'envoi.")


def _requeue(session: Session, reminder: Reminder) -> None:
    now = clock.now()
    message = session.get(OutboxMessage, reminder.message_id) if reminder.message_id else None
    if message is not None:
        message.status, message.attempts, message.next_attempt_at = MessageStatus.pending, 0, now
        message.claimed_until = message.claimed_by = None
        for sibling in session.exec(
            select(Reminder).where(Reminder.message_id == message.id)
        ).all():
            sibling.status = ReminderStatus.pending
            session.add(sibling)
        session.add(message)
    else:
        reminder.status, reminder.due_at = ReminderStatus.pending, now
        session.add(reminder)


def worker() -> None:
    """Le planificateur seul : passages réguliers d'envoi des rappels (pour plusieurs processus)."""
    run_forever(runtime.engine(), runtime.settings(), worker=worker_name())
