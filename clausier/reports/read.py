"""The yearly report as the API returns it in JSON and the pages show it
(``indicators.Report.as_dict``): hours planned and validated, per market and lot and month,
the beneficiaries by split, the outcomes six months after. Counts and hours only, no one's name
nor code."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from clausier.declarations.read import Shortfall
from clausier.documents import Day, Figure, Moment, Month, ReadModel, State, one_of
from clausier.offers.instruments import INSTRUMENT_CODES


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
    integration_hours: Figure = Field(description="Heures validées passées par une structure d'insertion (EI, ACI, ETTI, AI, GEIQ)")  # fmt: skip
    integration_share: Figure | None = Field(description="Leur part des heures validées (null : aucune heure validée)")  # fmt: skip
    ended_markets: int = Field(description="Marchés à l'exécution terminée (en évaluation ou clos)")
    missing: Figure = Field(description="Heures manquantes à la fin d'exécution de ces marchés, sur toute leur exécution")  # fmt: skip
    penalty: Figure | None = Field(description="Pénalités que leurs contrats prévoient pour ces heures, en euros (null : aucun n'en prévoit)")  # fmt: skip
    shortfall_final: bool = Field(description="Tous ces chiffres sont définitifs")


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
    instrument: one_of(INSTRUMENT_CODES) = Field(description="Instrument juridique de la clause")
    instrument_label: str = Field(description="L'instrument et son article, en toutes lettres")


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
    urban_renewal: bool = Field(description="Marché de renouvellement urbain (ANRU / NPNRU)")
    qpv_target: Figure | None = Field(description="Part des heures d'insertion réservée aux habitants des QPV (renouvellement urbain)")  # fmt: skip
    qpv_hours: Figure | None = Field(description="Heures validées dans l'année de personnes résidant en QPV (renouvellement urbain)")  # fmt: skip
    qpv_share: Figure | None = Field(description="qpv_hours ÷ heures validées dans l'année (renouvellement urbain)")  # fmt: skip
    shortfall: Shortfall | None = Field(description="Heures manquantes et pénalité à la fin d'exécution (marchés en évaluation ou clos)")  # fmt: skip


class Share(ReadModel):
    """A row of a split: a code, its label, the people and their validated hours."""

    code: str
    label: str
    beneficiaries: int
    hours: Figure


class ReportBeneficiaries(ReadModel):
    """The people with validated hours, in all and by split (a person counted once per
    eligibility criterion, modality or contract type: those splits may add up to more)."""

    total: int
    by_public: list[Share]
    by_sex: list[Share]
    by_age_band: list[Share]
    by_modality: list[Share]
    by_contract_type: list[Share]
    by_body_kind: list[Share] = Field(description="Heures par type d'organisme (unspecified : sans organisme)")  # fmt: skip


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
