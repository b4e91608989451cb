"""Conventions and coverage as the API returns them and the pages show them: the list of
conventions (``clausier.api.directory``), the coverage report (``report.coverage_report``) and a
market's coverage in its status lookup (``clausier.markets.status``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clausier.documents import Day, PartyRef, ReadModel, State
from clausier.partnerships.coverage import CoverageStatus
from clausier.partnerships.models import ConventionStatus, Renewal, Service

Assignment = Literal["automatic", "explicit"]
CoverageFlag = Literal["uncovered", "ambiguous"]


class Convention(ReadModel):
    """A partnership convention, as its list shows it."""

    ref: str = Field(description="Référence de la convention")
    starts_on: Day = Field(description="Début")
    renewal: Renewal = Field(description="Reconduction tacite ou expresse")
    renewal_until: Day | None = Field(description="Reconduction tacite : dernier jour où elle peut être reconduite (null : sans limite, ou expresse)")  # fmt: skip
    status: ConventionStatus = Field(description="Où elle en est aujourd'hui")
    in_force_until: Day = Field(description="Dernier jour en vigueur, à ce jour")


class Territory(ReadModel):
    kind: Literal["commune", "epci", "departement"]
    code: str = Field(description="Code INSEE de la commune, SIREN de l'EPCI ou code du département")  # fmt: skip
    name: str | None = Field(description="Son nom au code officiel géographique")


class CoverageConvention(ReadModel):
    """A buyer's convention: with whom, where, for what, until when."""

    ref: str = Field(description="Référence de la convention")
    structure: str = Field(description="Référence de la structure porteuse")
    structure_name: str
    status: ConventionStatus
    status_label: str
    renewal: Renewal
    renewal_until: Day | None = Field(description="Reconduction tacite : dernier jour où elle peut être reconduite (null : sans limite, ou expresse)")  # fmt: skip
    starts_on: Day
    in_force_until: Day = Field(description="Dernier jour en vigueur, à ce jour")
    services: list[Service] = Field(description="Les services rendus par la structure")
    territories: list[Territory] = Field(description="Les territoires couverts")


class CoveredMarket(ReadModel):
    """A market under way and who covers its commune."""

    ref: str = Field(description="Référence du marché")
    title: str
    state: State
    state_label: str
    commune: str = Field(description="Code INSEE de la commune d'exécution")
    commune_name: str
    on: Day = Field(description="Le jour où la couverture est lue")
    status: CoverageStatus = Field(description="Couvert, ambigu ou non couvert")
    label: str
    structure: str | None = Field(description="Référence de la structure assignée")
    structure_name: str | None
    assignment: Assignment | None = Field(description="Assignation automatique ou choix de l'acheteur")  # fmt: skip
    candidates: list[str] = Field(description="Les structures qui couvrent la commune")
    flag: CoverageFlag | None = Field(description="Ce qui reste à régler : non couvert ou à arbitrer")  # fmt: skip


class Gap(ReadModel):
    """A commune where the buyer has markets and no convention."""

    commune: str = Field(description="Code INSEE de la commune")
    name: str
    epci_name: str | None
    departement: str = Field(description="Code du département")
    markets: list[str] = Field(description="Les marchés concernés")


class BuyerCoverage(ReadModel):
    buyer: PartyRef
    conventions: list[CoverageConvention]
    markets: list[CoveredMarket]
    gap: list[Gap] = Field(description="Les communes sans convention, avec leurs marchés")


class Coverage(ReadModel):
    """Each buyer's conventions, its markets' coverage, and the communes left uncovered."""

    on: Day = Field(description="Le jour du rapport")
    buyers: list[BuyerCoverage]


class MarketCoverage(ReadModel):
    """Who covers a market's commune, as its status lookup shows it."""

    on: Day = Field(description="Le jour où la couverture est lue")
    status: CoverageStatus = Field(description="Couvert, ambigu ou non couvert")
    label: str
    flag: CoverageFlag | None = Field(description="Ce qui reste à régler : non couvert ou à arbitrer")  # fmt: skip
    candidates: list[str] = Field(description="Les structures qui couvrent la commune")
    conventions: list[str] = Field(description="Les conventions qui la couvrent")
