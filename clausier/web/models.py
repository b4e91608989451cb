"""Web sessions and one-time sign-in links; only hashes of their secrets are stored.

A session records the credential it came from (a token, or the person or organisation a link was
sent to), and lives only while that credential does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    csrf: str = Field(max_length=64)
    role: str = Field(max_length=20)
    org_id: int | None = None
    label: str
    person_email: str | None = None  # a facilitator signed in by e-mail acts as that person
    # what it came from: a token, or a link sent to an address (a facilitator's, or the
    # organisation's); none of them recorded (a session older than this): no longer valid
    token_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("api_token.id", ondelete="CASCADE")),
    )
    facilitator_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("facilitator.id", ondelete="CASCADE")),
    )
    link_email: str | None = None
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LoginLink(SQLModel, table=True):
    __tablename__ = "login_link"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    email: str
    role: str = Field(max_length=20)
    org_id: int | None = None
    label: str
    facilitator_id: int | None = Field(  # the person, for a facilitator's link
        default=None,
        sa_column=Column(Integer, ForeignKey("facilitator.id", ondelete="CASCADE")),
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
