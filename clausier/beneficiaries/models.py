"""A beneficiary is pseudonymous: statistics need the public, sex and age band, never a name.

The name is optional, visible only to the facilitators of the structure that registered the
person, and erased by ``clausier purge``; everything else stays for the indicators.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class Beneficiary(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)  # issued by the product: B-XXXXXXXX
    structure_id: int = Field(foreign_key="structure.id", index=True)
    public: str = Field(max_length=20)
    public_reason: str | None = None  # why, for a public validated case by case ("other")
    checked_by_id: int = Field(foreign_key="facilitator.id")
    checked_on: date
    sex: str = Field(max_length=1)
    age_band: str = Field(max_length=10)
    name: str | None = None  # personal data: facilitators of the structure only, purged
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    purged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Outcome(SQLModel, table=True):
    """Where a beneficiary stands six months after the end of a market (the evaluation)."""

    __table_args__ = (UniqueConstraint("market_id", "beneficiary_id"),)

    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id", ondelete="CASCADE", index=True)
    beneficiary_id: int = Field(foreign_key="beneficiary.id", index=True)
    outcome: str = Field(max_length=24)
    # why it was recorded before its date (the end of execution + 6 months): required then
    early_reason: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
