"""Reminders and the outbox: both live in the database, never only in a scheduler's memory.

A reminder is due at an instant; the sweep claims it (with a lease), checks that it still
applies, renders it and hands it to the outbox in one transaction. An outbox message is then
delivered, retried with backoff, or marked failed and kept visible.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class ReminderStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


class MessageStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


REMINDER_STATUS_LABELS = {
    "pending": "en attente",
    "sent": "envoyé",
    "failed": "échec",
    "cancelled": "annulé",
}


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    message_id: str = Field(max_length=200)  # stable, derived from the key
    to_email: str
    to_name: str | None = None
    subject: str
    text_body: str
    html_body: str
    status: str = Field(default=MessageStatus.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = None
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )


class Reminder(SQLModel, table=True):
    __table_args__ = (Index("ix_reminder_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=60)
    recipient_role: str = Field(max_length=20)
    idempotency_key: str = Field(max_length=200, unique=True)
    market_id: int | None = Field(
        default=None, foreign_key="market.id", ondelete="CASCADE", index=True
    )
    task_id: int | None = Field(default=None, foreign_key="task.id", ondelete="CASCADE", index=True)
    lot_id: int | None = Field(default=None, foreign_key="lot.id", ondelete="CASCADE")
    convention_id: int | None = Field(default=None, foreign_key="convention.id", ondelete="CASCADE")
    period: str | None = Field(default=None, max_length=7)  # YYYY-MM of a monthly declaration
    occurrence: int = 0  # 0 the first time, then each repetition and escalation
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default=ReminderStatus.pending, max_length=10)
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claimed_by: str | None = Field(default=None, max_length=100)
    message_id: int | None = Field(default=None, foreign_key="outbox_message.id", index=True)
    recipient_email: str | None = None  # resolved when rendered
    cancel_reason: str | None = None
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
