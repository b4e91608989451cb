"""A task as the queue, the status lookup and the pages show it (``service.task_document``), and
what the API answers when a task is done, assigned or cancelled."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clausier.documents import LotRef, Moment, ReadModel, State
from clausier.tasks.models import TaskStatus


class Task(ReadModel):
    """An open task of a market (of one of its lots), with its due date."""

    id: int = Field(description="Numéro de la tâche")
    kind: str = Field(description="Nature de la tâche (config.yaml, tasks.kinds)")
    service: str | None = Field(
        description="Service de la convention dont relève la tâche (config.yaml, tasks.kinds)"
    )
    label: str = Field(description="Ce qu'il y a à faire, et sur quel lot")
    lot: LotRef | None = Field(description="Le lot de la tâche (null : le marché entier)")
    due_at: Moment = Field(description="Échéance")
    overdue: bool = Field(description="En retard (échéance passée)")
    priority: str = Field(description="Priorité, en toutes lettres")
    market: str = Field(description="Référence du marché")
    market_title: str = Field(description="Intitulé du marché")
    state: State
    structure: str | None = Field(description="Référence de la structure chargée de la tâche")
    owner: Literal["structure", "buyer"] = Field(
        description="Qui fait la tâche : la structure, ou l'acheteur quand aucune structure ne "
        "la tient (la convention ne comprend pas ce service, ou aucune structure ne suit le marché)"
    )
    assignee: str | None = Field(description="E-mail du facilitateur qui l'a prise (null : personne)")  # fmt: skip


class TaskClosed(ReadModel):
    """A task done or cancelled."""

    id: int = Field(description="Numéro de la tâche")
    status: TaskStatus = Field(description="done (faite) ou cancelled (annulée)")


class TaskAssigned(ReadModel):
    """A task handed to a facilitator."""

    id: int = Field(description="Numéro de la tâche")
    assignee: str = Field(description="E-mail du facilitateur")
