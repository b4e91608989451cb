"""A market as the API returns it and the pages show it: a line of the list
(``clausier.api.markets``) and the buyer's status lookup (``status.market_overview``): its
state and what may happen next, its lots and their hours, who follows it, its history, its open
tasks and its next reminders."""

from __future__ import annotations

from pydantic import Field

from clausier.beneficiaries.read import OutcomeCounts
from clausier.declarations.read import LotProgress, Shortfall
from clausier.documents import (
    Day,
    Figure,
    LotRef,
    Moment,
    PartyRef,
    ReadModel,
    State,
    Trigger,
    one_of,
)
from clausier.markets.models import CPV_SOURCES
from clausier.offers.clause import MODALITIES
from clausier.offers.instruments import INSTRUMENT_CODES
from clausier.offers.read import Offer
from clausier.partnerships.models import Renewal
from clausier.partnerships.read import Assignment, CoverageFlag, MarketCoverage
from clausier.tasks.read import Task
from notifications.upcoming import Delivery


class MarketSummary(ReadModel):
    """A market as a list shows it."""

    ref: str = Field(description="Référence du marché")
    title: str = Field(description="Intitulé")
    state: State
    state_label: str = Field(description="L'état en toutes lettres")
    commune: str = Field(description="Code INSEE de la commune d'exécution")
    buyer: str = Field(description="Nom de l'acheteur")
    version: int = Field(description="Version, pour refuser une écriture concurrente (expected_version)")  # fmt: skip
    coverage_flag: CoverageFlag | None = Field(description="Ce qui reste à régler : non couvert ou à arbitrer")  # fmt: skip


class Place(ReadModel):
    """The commune of execution and the territories that contain it."""

    commune: str = Field(description="Code INSEE de la commune")
    name: str
    epci: str | None = Field(description="SIREN de l'EPCI")
    epci_name: str | None
    departement: str = Field(description="Code du département")
    departement_name: str


class MarketDates(ReadModel):
    consultation_on: Day | None
    award_on: Day | None
    execution_starts_on: Day | None
    execution_ends_on: Day | None


class AllowedTrigger(ReadModel):
    """A trigger the market may take now, with the data it needs when fired."""

    trigger: Trigger
    label: str = Field(description="Le déclencheur en toutes lettres")
    needs: list[str] = Field(description="Les données à fournir en le déclenchant (« un motif »)")


class BlockedTrigger(ReadModel):
    """A trigger of the market's state that its guard refuses now, and why."""

    trigger: Trigger
    label: str = Field(description="Le déclencheur en toutes lettres")
    reasons: list[str] = Field(description="Pourquoi il est refusé, et ce qui le permettrait")
    missing: list[str] = Field(description="Ce qui manque, en quelques mots")


class AssignedStructure(ReadModel):
    """The structure following the market, and the convention that assigned it."""

    ref: str = Field(description="Référence de la structure")
    name: str
    email: str
    assignment: Assignment | None = Field(description="Assignation automatique ou choix de l'acheteur")  # fmt: skip
    convention: str | None = Field(description="Référence de la convention")
    convention_renewal: Renewal | None
    convention_in_force_until: Day | None = Field(description="Dernier jour en vigueur de la convention")  # fmt: skip


class Lot(ReadModel):
    """A lot: its insertion offer, its contractor, and its hours against the pace."""

    id: int = Field(description="Numéro interne du lot (adresses /api/lots/{id}/…)")
    number: int = Field(description="Numéro du lot dans le marché")
    title: str
    cpv: str = Field(description="Code CPV du métier du lot : le sien, sinon celui du marché")
    cpv_source: one_of(CPV_SOURCES) = Field(description="À qui est ce code : au lot (lot) ou, le lot n'en ayant pas, au marché (market)")  # fmt: skip
    amount: Figure = Field(description="Montant HT (€)")
    hours: int | None = Field(description="Heures d'insertion exigées (null : offre pas encore préparée)")  # fmt: skip
    hours_validated: Figure = Field(description="Heures validées")
    clause_text: str | None = Field(description="Le texte de la clause")
    clause_edited: bool = Field(description="Texte de clause rédigé à la main")
    instrument: one_of(INSTRUMENT_CODES) = Field(description="Instrument juridique de la clause : execution_condition (L2112-2), reserved_siae (L2113-13), reserved_disability (L2113-12), award_criterion (R2152-7)")  # fmt: skip
    instrument_label: str = Field(description="L'instrument et son article, en toutes lettres")
    hours_computed: int | None = Field(description="Heures issues du calcul")
    hours_override_reason: str | None = Field(description="Motif d'une dérogation au calcul")
    offer: Offer | None = Field(description="Le calcul de l'offre d'insertion")
    modalities: list[one_of(MODALITIES)] | None = Field(description="Modalités permises (null : toutes)")  # fmt: skip
    contractor: PartyRef | None = Field(description="Le titulaire (null : pas encore attribué)")
    progress: LotProgress | None = Field(description="Les heures au regard du rythme attendu (null : lot sans clause)")  # fmt: skip


class HistoryEntry(ReadModel):
    """A line of the market's log: its creation, a transition, or a change outside them."""

    at: Moment
    from_: str | None = Field(alias="from", description="État de départ (null : création)")
    to: str = Field(description="État d'arrivée")
    trigger: str = Field(description="Déclencheur, load, import ou edit")
    actor: str = Field(description="Qui l'a fait")
    payload: dict[str, object] = Field(description="Les données du déclencheur, ou d'une modification ses changements")  # fmt: skip
    label: str = Field(description="Ce qui s'est passé, en quelques mots")
    changes: list[str] = Field(description="Les changements d'une modification, une phrase chacun")


class ReminderTask(ReadModel):
    id: int = Field(description="Numéro de la tâche")
    kind: str
    label: str


class NextReminder(ReadModel):
    """A reminder still to be sent: about what, to whom, and where it stands."""

    rule: str = Field(description="Règle de relance (config.yaml, reminders)")
    label: str
    due_at: Moment = Field(description="Quand il part")
    recipient_role: str = Field(description="À qui : facilitator, buyer ou contractor")
    recipient_label: str
    task: ReminderTask | None
    lot: LotRef | None
    period: str | None = Field(description="Le mois d'un relevé, AAAA-MM")
    about: str | None = Field(description="Ce qu'il concerne, en quelques mots")
    status: Delivery = Field(description="À venir, en attente d'envoi ou en cours d'envoi")
    status_label: str


class MarketStatus(ReadModel):
    """The buyer's status lookup: state, what may happen next, lots and hours, who follows the
    market, its coverage and history, its open tasks and its next reminders."""

    ref: str = Field(description="Référence du marché")
    title: str
    buyer: PartyRef
    place: Place
    cpv: str = Field(description="Code CPV")
    amount: Figure = Field(description="Montant HT (€)")
    qpv_target: Figure | None = Field(default=None, description="Renouvellement urbain (ANRU / NPNRU) : part des heures d'insertion réservée aux habitants des QPV (0,3 : 30 %) ; null hors renouvellement urbain")  # fmt: skip
    dates: MarketDates
    state: State
    state_label: str
    version: int = Field(description="Version, pour refuser une écriture concurrente (expected_version)")  # fmt: skip
    allowed_triggers: list[AllowedTrigger]
    blocked_triggers: list[BlockedTrigger]
    structure: AssignedStructure | None = Field(description="La structure qui suit le marché")
    coverage: MarketCoverage
    lots: list[Lot]
    exit_reason: str | None = Field(description="Pourquoi il a été déclaré non clausable ou abandonné")  # fmt: skip
    evaluation: str | None = Field(description="Le bilan de la clause")
    history: list[HistoryEntry]
    open_tasks: list[Task]
    outcomes: OutcomeCounts | None = Field(
        default=None, description="Les sorties à six mois (seulement en évaluation ou clos)"
    )
    shortfall: Shortfall | None = Field(
        default=None,
        description="Les heures manquantes et la pénalité à la fin de l'exécution (seulement en "
        "évaluation ou clos, lots à clause) : provisoires tant qu'un mois se déclare encore ou "
        "que des heures restent à contrôler",
    )
    next_reminders: list[NextReminder]
