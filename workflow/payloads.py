"""The data each trigger accepts (``clausier fire REF TRIGGER --data JSON``).

Unknown keys are refused, so a typo never passes silently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clausier.validation.identifiers import siret_problem


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoData(Payload):
    pass


class Reason(Payload):
    reason: str = Field(min_length=3, description="Pourquoi (texte libre)")


class Unsuccessful(Payload):
    """Relaunch: the consultation is declared unsuccessful (*infructueuse*)."""

    unsuccessful: bool = Field(description="La consultation est déclarée infructueuse")
    reason: str = Field(min_length=3)


class Award(Payload):
    """Award: the contractor of each lot, by lot number and SIRET (optional if already set)."""

    contractors: dict[int, str] = Field(default_factory=dict)

    @field_validator("contractors")
    @classmethod
    def _valid_sirets(cls, value: dict[int, str]) -> dict[int, str]:
        cleaned = {}
        for number, siret in value.items():
            problem = siret_problem(siret)
            if problem:
                raise ValueError(f"lot {number} : SIRET « {siret} » invalide : {problem}")
            cleaned[number] = siret.replace(" ", "")
        return cleaned


class Close(Payload):
    """Close: the evaluation report's summary, unless already recorded."""

    evaluation: str | None = Field(default=None, min_length=3)


PAYLOADS: dict[str, type[Payload]] = {
    "prepare_offer": NoData,
    "decline": Reason,
    "publish": NoData,
    "relaunch": Unsuccessful,
    "award": Award,
    "abandon": Reason,
    "complete": NoData,
    "close": Close,
}

EXAMPLES: dict[str, str] = {
    "decline": '{"reason": "…"}',
    "abandon": '{"reason": "…"}',
    "relaunch": '{"unsuccessful": true, "reason": "aucune offre acceptable"}',
    "award": '{"contractors": {"1": "41234567000019"}}',
    "close": '{"evaluation": "Bilan : …"}',
}
