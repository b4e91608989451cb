"""Conventions (*conventions de partenariat*), the territories they cover and their services."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class Renewal(StrEnum):
    tacit = "tacit"
    explicit = "explicit"


class ConventionStatus(StrEnum):
    draft = "draft"
    active = "active"
    expired = "expired"
    terminated = "terminated"


CONVENTION_STATUS_LABELS = {
    ConventionStatus.draft: "brouillon",
    ConventionStatus.active: "active",
    ConventionStatus.expired: "expirée",
    ConventionStatus.terminated: "résiliée",
}


class Service(StrEnum):
    advise = "advise"
    identify = "identify"
    prepare_offer = "prepare_offer"
    facilitate = "facilitate"
    follow = "follow"
    control = "control"
    report = "report"
    evaluate = "evaluate"


SERVICE_LABELS = {
    Service.advise: "conseil",
    Service.identify: "repérage des marchés",
    Service.prepare_offer: "offre d'insertion",
    Service.facilitate: "mise en relation",
    Service.follow: "suivi",
    Service.control: "contrôle",
    Service.report: "rapports",
    Service.evaluate: "évaluation",
}


class TerritoryKind(StrEnum):
    commune = "commune"
    epci = "epci"
    departement = "departement"


# The most specific territory wins when several conventions cover a place.
SPECIFICITY = {TerritoryKind.commune: 3, TerritoryKind.epci: 2, TerritoryKind.departement: 1}
TERRITORY_KIND_LABELS = {
    TerritoryKind.commune: "commune",
    TerritoryKind.epci: "EPCI",
    TerritoryKind.departement: "département",
}


class Convention(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    buyer_id: int = Field(foreign_key="buyer.id", index=True)
    structure_id: int = Field(foreign_key="structure.id", index=True)
    starts_on: date
    ends_on: date  # end of the current period for an explicit renewal; first period if tacit
    renewal: str = Field(max_length=10)
    draft: bool = False
    terminated_on: date | None = None  # no longer in force from this date on
    renewals: int = 0  # explicit renewals granted so far
    # a tacit convention's cap: the last day its renewals may reach (None: it renews on)
    renewal_until: date | None = None
    hourly_cost: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    insertion_rate: Decimal | None = Field(default=None, max_digits=5, decimal_places=4)
    # the penalty per missing insertion hour of the markets it follows (over the buyer's), € an hour
    penalty_per_hour: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )


class ConventionTerritory(SQLModel, table=True):
    __tablename__ = "convention_territory"
    __table_args__ = (UniqueConstraint("convention_id", "kind", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    convention_id: int = Field(foreign_key="convention.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=12)
    code: str = Field(max_length=9, index=True)


class ConventionService(SQLModel, table=True):
    __tablename__ = "convention_service"

    convention_id: int = Field(foreign_key="convention.id", ondelete="CASCADE", primary_key=True)
    service: str = Field(max_length=20, primary_key=True)
