"""The yearly report as the API returns it in JSON and the pages show it
(``indicators.Report.as_dict``): hours planned and validated, per market and lot and month,
the beneficiaries by split, the outcomes six months after. Counts and hours only, no one's name
nor code."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clausier.documents import Day, Figure, Moment, Month, ReadModel, State


class ReportScope(ReadModel):
    kind: Literal["buyer", "structure", "territory", "market", "all"] = Field(description="Le périmètre : acheteur, structure, territoire, marché ou tout")  # fmt: skip
    key: str = Field(description="SIRET, référence de structure ou de marché, code de territoire")
    label: str = Field(description="Le périmètre en toutes lettres")
    territory_kind: Literal["commune", "epci", "departement"] | None


class ReportTotals(ReadModel):
    markets: int
    lots: int = Field(description="Lots à clause")
    target: int = Field(description="Heures à réaliser sur ces lots, en tout")
    planned: Figure = Field(description="Heures prévues pour l'année")
    validated: Figure = Field(description="Heures validées dans l'année")
    rate: Figure | None = Field(description="Taux de réalisation (validées ÷ prévues ; null : rien de prévu)")  # fmt: skip
    validated_to_date: Figure = Field(description="Heures validées depuis le début")
    beneficiaries: int = Field(description="Personnes ayant des heures validées dans l'année")


class ReportLot(ReadModel):
    number: int
    title: str
    contractor: str | None = Field(description="Le titulaire")
    target: int = Field(description="Heures à réaliser sur le lot")
    days_in_year: int = Field(description="Jours d'exécution dans l'année")
    days_total: int = Field(description="Jours d'exécution en tout")
    planned: Figure
    validated: Figure
    validated_to_date: Figure
    rate: Figure | None


class ReportMarket(ReadModel):
    ref: str
    title: str
    buyer: str
    commune: str
    commune_name: str | None
    state: State
    state_label: str
    structure: str | None
    execution_starts_on: Day
    execution_ends_on: Day
    target: int
    planned: Figure
    validated: Figure
    validated_to_date: Figure
    rate: Figure | None
    beneficiaries: int
    lots: list[ReportLot]


class Share(ReadModel):
    """A row of a split: a code, its label, the people and their validated hours."""

    code: str
    label: str
    beneficiaries: int
    hours: Figure


class ReportBeneficiaries(ReadModel):
    """The people with validated hours, in all and by split (a person counted once per
    modality or contract type worked in: those splits may add up to more)."""

    total: int
    by_public: list[Share]
    by_sex: list[Share]
    by_age_band: list[Share]
    by_modality: list[Share]
    by_contract_type: list[Share]


class ReportMonth(ReadModel):
    period: Month
    label: str = Field(description="Le mois en toutes lettres")
    validated: Figure
    cumulative: Figure = Field(description="Heures validées depuis janvier")
    target_cumulative: Figure = Field(description="Heures prévues jusqu'à la fin du mois")
    elapsed: bool = Field(description="Le mois a commencé")


class OutcomeCount(ReadModel):
    code: str
    label: str
    count: int
    positive: bool = Field(description="Une sortie positive (emploi durable, formation qualifiante, création d'entreprise)")  # fmt: skip


class ReportOutcomes(ReadModel):
    markets: int = Field(description="Marchés du rapport en évaluation ou clos")
    total: int
    positive: int
    positive_rate: Figure | None
    by_outcome: list[OutcomeCount]


class Report(ReadModel):
    """The indicators of a scope for a calendar year."""

    scope: ReportScope
    year: int
    generated_at: Moment
    note: str | None = Field(description="Comment le périmètre a été restreint à ce que le lecteur peut voir")  # fmt: skip
    totals: ReportTotals
    markets: list[ReportMarket]
    beneficiaries: ReportBeneficiaries
    months: list[ReportMonth]
    outcomes: ReportOutcomes
