"""Tasks: a unit of a facilitator's work on a market, with its due date."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class TaskStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


TASK_STATUS_LABELS = {
    TaskStatus.open: "à faire",
    TaskStatus.done: "faite",
    TaskStatus.cancelled: "annulée",
}
PRIORITIES = {"high": 1, "normal": 2, "low": 3}
PRIORITY_LABELS = {1: "haute", 2: "normale", 3: "basse"}


class Task(SQLModel, table=True):
    __table_args__ = (Index("ix_task_queue", "status", "structure_id", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    market_id: int = Field(foreign_key="market.id", ondelete="CASCADE", index=True)
    lot_id: int | None = Field(default=None, foreign_key="lot.id", ondelete="CASCADE")
    # an event's task is opened once: "check_declaration:lot:12:2027-03"
    key: str | None = Field(default=None, max_length=80, unique=True)
    structure_id: int | None = Field(default=None, foreign_key="structure.id")
    assignee_id: int | None = Field(default=None, foreign_key="facilitator.id", index=True)
    state: str = Field(max_length=20)  # the lifecycle state whose entry opened it
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    priority: int = 2
    status: str = Field(default=TaskStatus.open, max_length=10)
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    closed_by: str | None = None
    comment: str | None = None  # left by whoever completed it
    cancel_reason: str | None = None
