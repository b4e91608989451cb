"""A beneficiary is pseudonymous: statistics need the publics, sex and age band, never a name.

A person meets one or several eligibility criteria (an RSA recipient living in a QPV), each
checked by a facilitator on a date (``BeneficiaryCriterion``): a renewed check is a new row, so
that the months an earlier check covered stay covered (``beneficiaries.eligibility``).

The name is optional, visible only to the facilitators of the structure that registered the
person, and erased by ``clausier purge``; everything else stays for the indicators.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class Beneficiary(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)  # issued by the product: B-XXXXXXXX
    structure_id: int = Field(foreign_key="structure.id", index=True)
    # the facilitator who registered the person (each criterion keeps who checked it)
    checked_by_id: int = Field(foreign_key="facilitator.id")
    sex: str = Field(max_length=1)
    age_band: str = Field(max_length=10)
    name: str | None = None  # personal data: facilitators of the structure only, purged
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    purged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class BeneficiaryCriterion(SQLModel, table=True):
    """One check of one eligibility criterion of a person: the public, who checked it and when
    (its validity runs from that day, ``config.eligibility``)."""

    __tablename__ = "beneficiary_criterion"
    __table_args__ = (UniqueConstraint("beneficiary_id", "public", "checked_on"),)

    id: int | None = Field(default=None, primary_key=True)
    beneficiary_id: int = Field(foreign_key="beneficiary.id", ondelete="CASCADE", index=True)
    public: str = Field(max_length=20)
    reason: str | None = None  # why, for a public validated case by case ("other"); purged
    # an ``siae`` check made on a PASS IAE (valid longer than an eligibility diagnosis)
    pass_iae: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    checked_by_id: int = Field(foreign_key="facilitator.id")
    checked_on: date
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )


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
