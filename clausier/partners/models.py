"""Buyers, structures (a facilitator's employer), facilitators and contractors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, true
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class StructureKind(StrEnum):
    maison_emploi = "maison_emploi"
    plie = "plie"
    collectivite = "collectivite"
    departement = "departement"
    other = "other"


STRUCTURE_KIND_LABELS = {
    StructureKind.maison_emploi: "Maison de l'emploi",
    StructureKind.plie: "PLIE",
    StructureKind.collectivite: "Collectivité",
    StructureKind.departement: "Département",
    StructureKind.other: "Autre",
}


def _created() -> datetime:
    return clock.now()


class Buyer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    siret: str = Field(max_length=14, unique=True)
    name: str = Field(index=True)
    email: str
    # the buyer's own settings for the hours formula (a convention's settings win over them)
    hourly_cost: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    insertion_rate: Decimal | None = Field(default=None, max_digits=5, decimal_places=4)
    # the penalty per missing insertion hour its contracts carry (a convention's wins), € an hour
    penalty_per_hour: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    # deactivated by the directory: signs in no more, its tokens stop, it is sent nothing
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(
        default_factory=_created, sa_column=Column(UTCDateTime, nullable=False)
    )


class Structure(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    name: str
    kind: str = Field(max_length=20)
    email: str
    # deactivated by the directory: signs in no more, its tokens stop, it is sent nothing
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(
        default_factory=_created, sa_column=Column(UTCDateTime, nullable=False)
    )


class Facilitator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    structure_id: int = Field(foreign_key="structure.id", index=True)
    email: str = Field(unique=True)
    name: str
    active: bool = True
    digest: bool = Field(
        default=True, sa_column_kwargs={"server_default": true()}
    )  # one e-mail a day


class Contractor(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    siret: str = Field(max_length=14, unique=True)
    name: str
    email: str
    # deactivated by the directory: signs in no more, its tokens stop, it is sent nothing
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(
        default_factory=_created, sa_column=Column(UTCDateTime, nullable=False)
    )
