"""A lot's monthly statements and their review, and its progress against the pace, as the API
returns them and the pages show them (``views.lot_statements``, ``pace.Progress.as_dict``,
``clausier.api.declarations``)."""

from __future__ import annotations

from pydantic import Field

from clausier.beneficiaries.vocabulary import BODY_KINDS, CONTRACT_TYPES, PUBLICS, SEXES
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
    """A line of a statement: a person's hours under a modality (or a subcontract counted by
    its invoice: no person, the hours are its amount ÷ the hourly cost), and its review."""

    id: int = Field(description="Numéro de la ligne (pour la contrôler)")
    period: Month = Field(description="Le mois, AAAA-MM")
    beneficiary: str | None = Field(description="Code du bénéficiaire (null : une ligne de facture)")  # fmt: skip
    name: str | None = Field(description="Nom (pour les seuls facilitateurs de la structure qui l'a enregistré)")  # fmt: skip
    # the contractor reads its workers' codes, modalities and hours: these four are null for it
    public: one_of(PUBLICS) | None = Field(description="Public éligible (null pour le titulaire, qui lit le code, la modalité et les heures)")  # fmt: skip
    public_label: str | None
    sex: one_of(SEXES) | None
    age_band: str | None = Field(description="Tranche d'âge, en toutes lettres")
    body_siret: str | None = Field(description="SIRET de l'organisme (mise à disposition, sous-traitance, cotraitance)")  # fmt: skip
    body_kind: one_of(BODY_KINDS) | None = Field(description="Type d'organisme : etti, ai, geiq, temp_agency ; ei, aci, ea, esat")  # fmt: skip
    body_kind_label: str | None
    invoice_ref: str | None = Field(description="Référence de la facture de sous-traitance")
    invoice_amount: Figure | None = Field(description="Montant HT de la facture, en euros")
    hourly_cost: Figure | None = Field(description="Coût horaire qui a converti le montant en heures")  # fmt: skip
    hourly_cost_source: str | None = Field(description="D'où vient ce coût horaire (convention, acheteur, réglage par défaut)")  # fmt: skip
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


class ShortfallLot(ReadModel):
    """A clause lot at the end of execution: its hours required, validated and missing."""

    number: int = Field(description="Numéro du lot")
    title: str
    required: int = Field(description="Heures d'insertion exigées")
    validated: Figure = Field(description="Heures validées")
    missing: Figure = Field(description="Heures manquantes : exigées − validées (0 au mieux)")
    penalty: Figure | None = Field(description="Pénalité : heures manquantes × pénalité par heure, en euros (null : le contrat n'en prévoit pas)")  # fmt: skip


class Shortfall(ReadModel):
    """The end of execution as the buyer hears it: the hours missing per lot and for the
    market, and the penalty the contract carries for them. Provisional while a month executed
    is still declarable or hours remain to review; final once neither is left."""

    final: bool = Field(description="Définitif (true) ou provisoire (false)")
    status_label: str = Field(description="« définitif » ou « provisoire »")
    pending: list[str] = Field(description="Ce qui peut encore changer un chiffre provisoire")
    required: int = Field(description="Heures exigées, lots à clause")
    validated: Figure = Field(description="Heures validées")
    missing: Figure = Field(description="Heures manquantes")
    penalty_per_hour: Figure | None = Field(description="Pénalité par heure manquante, en euros (null : aucune)")  # fmt: skip
    penalty_source: str | None = Field(description="D'où vient la pénalité : la convention, sinon l'acheteur")  # fmt: skip
    penalty: Figure | None = Field(description="Pénalité encourue, en euros (null : aucune)")
    lots: list[ShortfallLot]
