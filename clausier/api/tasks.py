"""The task queue over HTTP, and the facilitator's iCalendar feed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from clausier import clock
from clausier.api.deps import PageDep, PrincipalDep, RowId, SessionDep, SettingsDep
from clausier.api.errors import DOCUMENTED
from clausier.auth.models import Role
from clausier.auth.scope import (
    require,
    task_condition,
    task_in_scope,
    visible_facilitator,
    visible_market,
    visible_structure,
)
from clausier.documents import Page
from clausier.tasks import service
from clausier.tasks.ics import task_calendar
from clausier.tasks.read import Task, TaskAssigned, TaskClosed
from clausier.validation.texts import LongText

router = APIRouter(prefix="/api", tags=["tâches"], responses=DOCUMENTED)


class Done(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facilitator: str | None = Field(default=None, description="Qui l'a faite (e-mail)")
    comment: LongText | None = Field(default=None, max_length=2000)


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(description="E-mail du facilitateur")


class Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: LongText = Field(min_length=3, max_length=2000)


@router.get(
    "/tasks", summary="La file des tâches ouvertes (en retard d'abord)", response_model=Page[Task]
)
def list_tasks(
    session: SessionDep, principal: PrincipalDep, settings: SettingsDep, page: PageDep,
    structure: str | None = None, facilitator: str | None = None, kind: str | None = None,
    market: str | None = None, overdue: bool = False,
) -> dict:  # fmt: skip
    require(principal, Role.facilitator, Role.buyer)
    # a structure, a person or a market out of reach is not found, as one that does not exist
    filters = dict(
        now=clock.now(), scope=task_condition(principal),
        structure=visible_structure(session, principal, structure) if structure else None,
        facilitator=visible_facilitator(session, principal, facilitator) if facilitator else None,
        kind=kind, market=visible_market(session, principal, market) if market else None,
        overdue_only=overdue,
    )  # fmt: skip
    window = service.queue(session, **filters, limit=page.limit, offset=page.offset)
    total = service.queue_total(session, **filters)
    return page.wrap([row.as_dict(settings.tasks.kinds) for row in window], total)


@router.post("/tasks/{task_id}/done", summary="Marquer une tâche faite", response_model=TaskClosed)
def task_done(task_id: RowId, body: Done, session: SessionDep, principal: PrincipalDep) -> dict:
    task_in_scope(session, principal, task_id)
    actor = body.facilitator or f"{principal.role.value}:{principal.label}"
    task = service.complete(session, task_id, actor=actor, now=clock.now(), comment=body.comment)
    session.commit()
    return {"id": task.id, "status": task.status}


@router.post(
    "/tasks/{task_id}/assign",
    summary="Assigner une tâche à un facilitateur de sa structure",
    response_model=TaskAssigned,
)
def task_assign(task_id: RowId, body: Assign, session: SessionDep, principal: PrincipalDep) -> dict:
    task_in_scope(session, principal, task_id)
    task = service.assign(
        session, task_id, to=body.to, actor=f"{principal.role.value}:{principal.label}"
    )
    session.commit()
    return {"id": task.id, "assignee": body.to}


@router.post(
    "/tasks/{task_id}/cancel", summary="Annuler une tâche, avec le motif", response_model=TaskClosed
)
def task_cancel(task_id: RowId, body: Cancel, session: SessionDep, principal: PrincipalDep) -> dict:
    task_in_scope(session, principal, task_id)
    actor = f"{principal.role.value}:{principal.label}"
    task = service.cancel(session, task_id, actor=actor, now=clock.now(), reason=body.reason)
    session.commit()
    return {"id": task.id, "status": task.status}


@router.get("/facilitators/{email}/tasks.ics", summary="Le calendrier (.ics) des tâches d'un facilitateur",
            response_class=Response)  # fmt: skip
def facilitator_calendar(
    email: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> Response:
    require(principal, Role.facilitator)
    person = visible_facilitator(session, principal, email)
    now = clock.now()
    rows = service.queue(session, now=now, facilitator=person)
    body = task_calendar(rows, settings=settings.tasks, name=f"Clausier — {person.name}", now=now)
    return Response(body, media_type="text/calendar; charset=utf-8")
