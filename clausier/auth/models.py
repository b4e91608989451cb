"""API tokens: only a hash is stored; the token itself is shown once, at creation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class Role(StrEnum):
    admin = "admin"
    buyer = "buyer"
    facilitator = "facilitator"
    contractor = "contractor"


ROLE_LABELS = {Role.admin: "administrateur", Role.buyer: "acheteur", Role.facilitator: "facilitateur",
               Role.contractor: "titulaire"}  # fmt: skip


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=20)
    # the organisation: a buyer's, structure's or contractor's id; None for an admin
    org_id: int | None = None
    # a facilitator's token may name the person (its structure is ``org_id``): they act in
    # their own name, take tasks, and the token holds only while they are active
    facilitator_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("facilitator.id", ondelete="CASCADE")),
    )
    label: str
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SignInCounter(SQLModel, table=True):
    """Sign-in attempts in one window of time, for one address or one client: shared by every
    process on the database. The key holds a digest of the address or client, never the value."""

    __tablename__ = "sign_in_counter"

    window_key: str = Field(primary_key=True, max_length=120)
    hits: int
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
