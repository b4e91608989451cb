"""The facilitator's queue: the tasks of its structure, each linked to the page where its work is
done, to take, mark done with a comment, hand to a colleague or cancel with a reason.

Each task is the document the API's queue answers (``GET /api/tasks``: ``QueueRow.as_dict``,
validated into ``Task``); what the page adds (where the work is done, the names of the people,
whom a task may be handed to) goes beside it, by task id, e-mail or structure ref."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from clausier import clock
from clausier.auth.policy import Action, require_to
from clausier.auth.scope import task_condition, task_in_scope
from clausier.errors import InvalidInput, Refused
from clausier.http.session import RowId, SessionDep
from clausier.tasks import service as tasks
from clausier.tasks.read import Task
from clausier.web.common import WebDep, actor_of, check_csrf, principal_of, render
from clausier.web.models import WebSession
from clausier.web.routes.conventions import to_renew_notice

router = APIRouter(include_in_schema=False)


@router.get("/taches")
def queue(
    request: Request,
    web: WebDep,
    session: SessionDep,
    type: str | None = None,
    retard: bool = False,
) -> Response:
    principal = principal_of(web)
    require_to(principal, Action.read_tasks)
    settings = request.app.state.settings
    rows = tasks.queue(
        session,
        now=clock.now(),
        scope=task_condition(principal),
        kind=type or None,
        overdue_only=retard,
    )
    kinds = settings.tasks.kinds
    structures = {row.structure.id: row.structure.ref for row in rows if row.structure}
    return render(
        request,
        "taches.html",
        web,
        tasks=[Task.model_validate(row.as_dict(kinds)) for row in rows],
        work_pages={row.task.id: work_page(row, kinds) for row in rows},
        names={row.assignee.email: row.assignee.name for row in rows if row.assignee},
        colleagues={
            structures[sid]: people
            for sid, people in tasks.colleagues(session, set(structures)).items()
        },
        done=DONE.get(request.query_params.get("fait", "")),
        kinds=kinds,
        kind=type,
        retard=retard,
        to_renew=to_renew_notice(request, session, web),
    )


DONE = {
    "fait": "Tâche marquée faite.",
    "prise": "Tâche prise : elle vous est assignée.",
    "confiee": "Tâche confiée.",
    "annulee": "Tâche annulée.",
}


def work_page(row: tasks.QueueRow, kinds: dict) -> str:
    """Where a task's work is done: the review of the hours for a statement to check, the
    insertion offer while it is prepared, the evaluation, else the market's page."""
    spec = kinds.get(row.task.kind)
    ref = quote(row.market.ref)
    if spec is not None and spec.opened_by == "declaration":
        return "/controle"
    if row.task.state == "insertion_offer":
        return f"/marches/{ref}/offre"
    if row.task.state == "evaluation":
        return f"/marches/{ref}#evaluation"
    return f"/marches/{ref}#actions"


def _task_action(
    web: WebSession, session: Session, task_id: int, csrf: str, action, done: str
) -> Response:
    """``action(actor)`` on a task of the caller's structure; a refusal is the domain's."""
    check_csrf(web, csrf)
    task_in_scope(session, principal_of(web), task_id)
    action(actor_of(web))
    session.commit()
    return RedirectResponse(f"/taches?fait={done}", status_code=303)


@router.post("/taches/{task_id}/fait")
def task_done(
    task_id: RowId,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()],
    commentaire: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    comment = commentaire.strip() or None
    return _task_action(web, session, task_id, csrf,
                        lambda actor: tasks.complete(session, task_id, actor=actor, now=clock.now(), comment=comment),
                        "fait")  # fmt: skip


@router.post("/taches/{task_id}/confier")
def task_hand_over(
    task_id: RowId,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()],
    a: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    def hand_over(actor: str) -> None:
        if not a.strip():
            raise InvalidInput("Choisissez le facilitateur à qui confier la tâche.")
        tasks.assign(session, task_id, to=a, actor=actor)

    return _task_action(web, session, task_id, csrf, hand_over, "confiee")


@router.post("/taches/{task_id}/annuler")
def task_cancel(
    task_id: RowId,
    web: WebDep,
    session: SessionDep,
    csrf: Annotated[str, Form()],
    motif: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _task_action(web, session, task_id, csrf,
                        lambda actor: tasks.cancel(session, task_id, actor=actor, now=clock.now(), reason=motif),
                        "annulee")  # fmt: skip


@router.post("/taches/{task_id}/prendre")
def task_take(
    task_id: RowId, web: WebDep, session: SessionDep, csrf: Annotated[str, Form()]
) -> Response:
    def take(actor: str) -> None:
        if not web.person_email:
            raise Refused("Connectez-vous avec votre adresse pour prendre une tâche.")
        tasks.take(session, task_id, actor=actor)

    return _task_action(web, session, task_id, csrf, take, "prise")
