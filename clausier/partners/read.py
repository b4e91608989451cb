"""Buyers, structures, their facilitators and contractors as the directory lists them
(``clausier.api.directory``)."""

from __future__ import annotations

from pydantic import Field

from clausier.documents import ReadModel
from clausier.partners.models import StructureKind

ACTIVE = Field(
    description="Actif (désactivé dans l'annuaire : ne se connecte plus, ses jetons ne valent "
    "plus, rien ne lui est envoyé)"
)


class Buyer(ReadModel):
    id: int = Field(description="Numéro interne de l'acheteur")
    siret: str = Field(description="SIRET (14 chiffres)")
    name: str
    email: str = Field(description="E-mail de contact")
    active: bool = ACTIVE


class Structure(ReadModel):
    """A structure carrying the clause (maison de l'emploi, PLIE…)."""

    ref: str = Field(description="Référence de la structure")
    name: str
    kind: StructureKind = Field(description="Nature de la structure")
    email: str = Field(description="E-mail de contact")
    active: bool = ACTIVE


class Facilitator(ReadModel):
    email: str
    name: str
    active: bool = Field(description="Actif (un facilitateur désactivé ne se connecte plus)")
    digest: bool = Field(description="Reçoit chaque jour le récapitulatif de ses tâches")


class Contractor(ReadModel):
    siret: str = Field(description="SIRET (14 chiffres)")
    name: str
    email: str = Field(description="E-mail de contact")
    active: bool = ACTIVE
