"""A lot's monthly statements and their review, and its progress against the pace, as the API
returns them and the pages show them (``views.lot_statements``, ``pace.Progress.as_dict``,
``clausier.api.declarations``)."""

from __future__ import annotations

from pydantic import Field

from clausier.beneficiaries.vocabulary import CONTRACT_TYPES, PUBLICS, SEXES
from clausier.declarations.models import LineStatus
from clausier.documents import Day, Figure, Moment, Month, ReadModel, one_of
from clausier.offers.clause import MODALITIES


class LotProgress(ReadModel):
    """Where a clause lot stands: its target, the hours validated and submitted, and the hours
    expected by the last month whose declaration is due."""

    target: int = Field(description="Heures d'insertion à réaliser sur le lot")
    validated: Figure = Field(description="Heures validées")
    submitted: Figure = Field(description="Heures déclarées, à contrôler")
    expected: Figure = Field(description="Heures attendues à ce jour (au prorata)")
    expected_on: Day | None = Field(description="Jusqu'à quel jour elles sont attendues (aucune déclaration due : null)")  # fmt: skip
    behind: bool = Field(description="En retard sur le rythme attendu")
    gap: Figure = Field(description="Heures de retard (0 à l'heure)")


class DeclaredLine(ReadModel):
    """A line of a statement: a person's hours under a modality, and its review."""

    id: int = Field(description="Numéro de la ligne (pour la contrôler)")
    period: Month = Field(description="Le mois, AAAA-MM")
    beneficiary: str = Field(description="Code du bénéficiaire")
    name: str | None = Field(description="Nom (pour les seuls facilitateurs de la structure qui l'a enregistré)")  # fmt: skip
    public: one_of(PUBLICS) = Field(description="Public éligible")
    public_label: str
    sex: one_of(SEXES)
    age_band: str = Field(description="Tranche d'âge, en toutes lettres")
    modality: one_of(MODALITIES) = Field(description="Modalité d'insertion")
    modality_label: str
    contract_type: one_of(CONTRACT_TYPES) | None = Field(description="Type de contrat")
    contract_type_label: str | None
    hours: Figure = Field(description="Heures du mois")
    status: LineStatus = Field(description="À contrôler, validée ou rejetée")
    status_label: str
    review_reason: str | None = Field(description="Motif du rejet")
    reviewed_by: str | None = Field(description="Qui l'a contrôlée")
    reviewed_at: Moment | None = Field(description="Quand elle a été contrôlée")


class Statement(ReadModel):
    """A lot's month as the contractor declared it (then amended it), with its lines."""

    period: Month = Field(description="Le mois, AAAA-MM")
    period_label: str = Field(description="Le mois en toutes lettres (« mars 2027 »)")
    declared_at: Moment = Field(description="Première déclaration")
    declared_by: str = Field(description="Qui l'a déclaré")
    amendments: int = Field(description="Nombre de corrections depuis")
    lines: list[DeclaredLine]


class LotDeclarations(ReadModel):
    """A lot's statements, newest first, with its target and the hours validated."""

    market: str = Field(description="Référence du marché")
    lot: int = Field(description="Numéro du lot")
    hours: int | None = Field(description="Heures d'insertion du lot")
    hours_validated: Figure = Field(description="Heures validées sur le lot")
    statements: list[Statement]


class Declared(ReadModel):
    """What a declaration of a month did, and the month as it now stands."""

    market: str = Field(description="Référence du marché")
    lot: int = Field(description="Numéro du lot")
    period: Month = Field(description="Le mois, AAAA-MM")
    added: int = Field(description="Lignes ajoutées")
    changed: int = Field(description="Lignes modifiées")
    unchanged: int = Field(description="Lignes inchangées")
    withdrawn: int = Field(description="Lignes retirées")
    amendments: int = Field(description="Nombre de corrections du mois")
    statement: Statement


class DeclaredMonths(ReadModel):
    """What a CSV file declared, month by month."""

    market: str = Field(description="Référence du marché")
    lot: int = Field(description="Numéro du lot")
    months: list[Declared]


class ReviewedLine(ReadModel):
    id: int = Field(description="Numéro de la ligne")
    status: LineStatus = Field(description="validated ou rejected")
    reason: str | None = Field(description="Motif du rejet")


class Reviewed(ReadModel):
    """The lines reviewed, as they now stand."""

    items: list[ReviewedLine]
