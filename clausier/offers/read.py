"""The insertion offer of a lot as the status lookup shows it: the computation, step by step
(``formula.Computation.as_dict``, kept on the lot)."""

from __future__ import annotations

from pydantic import Field

from clausier.documents import Figure, ReadModel, one_of
from clausier.markets.models import CPV_SOURCES


class Offer(ReadModel):
    """How a lot's insertion hours were computed: amount × labour share × rate ÷ hourly cost."""

    amount: Figure = Field(description="Montant HT du lot (€)")
    labour_share: Figure = Field(description="Part de main-d'œuvre (0,40 pour 40 %)")
    labour_share_source: str = Field(description="D'où vient la part de main-d'œuvre")
    insertion_rate: Figure = Field(description="Taux d'insertion (0,07 pour 7 %)")
    insertion_rate_source: str = Field(description="D'où vient le taux")
    hourly_cost: Figure = Field(description="Coût horaire moyen (€)")
    hourly_cost_source: str = Field(description="D'où vient le coût horaire")
    raw: Figure = Field(description="Heures calculées avant arrondi (au centième)")
    rounded: int = Field(description="Heures arrondies")
    floor: int = Field(description="Plancher d'heures en deçà duquel le lot ne porte pas de clause")
    below_floor: bool = Field(description="Sous le plancher : pas de clause")
    hours: int = Field(description="Heures d'insertion retenues par le calcul (0 sous le plancher)")
    steps: list[str] = Field(description="Le calcul, étape par étape, en français")
    # absent from an offer computed before a lot had its own CPV
    cpv: str | None = Field(default=None, description="Code CPV dont la famille donne la part de main-d'œuvre")  # fmt: skip
    cpv_source: one_of(CPV_SOURCES) | None = Field(default=None, description="Celui du lot (lot) ou, le lot n'en ayant pas, celui du marché (market)")  # fmt: skip
    # the penalty the clause text names, kept with the offer (frozen at publication); absent
    # from an offer stored before it was kept
    penalty_per_hour: Figure | None = Field(default=None, description="Pénalité par heure d'insertion manquante que nomme le texte de clause (€) ; vide : aucune")  # fmt: skip
    penalty_source: str | None = Field(default=None, description="D'où vient la pénalité : la convention ou les paramètres de l'acheteur")  # fmt: skip
