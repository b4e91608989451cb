"""What the read models of every domain share (``<domain>/read.py``).

A read model describes a document as its builder makes it today: the API declares it as its
``response_model`` (so ``/openapi.json`` says every answer) and the pages take it as their
context. Amounts, hours and dates stay the texts the builders write (« 1234.50 »,
« 2027-03-01 », ISO 8601 instants): the JSON does not change, and a page formats them as it
always has. A document holds exactly its fields (``extra="forbid"``): a key a builder adds
without adding it to its model is refused, not served undescribed (FastAPI validates every
answer but the status lookup's kept bytes, which tests/api/test_schema.py checks against
``MarketStatus``): add the field here with the builder's change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from workflow.lifecycle import STATE_LABELS, TRIGGERS

T = TypeVar("T")


class ReadModel(BaseModel):
    """A document as its builder returns it: exactly these fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def one_of(values: Iterable[str]) -> Any:
    """The type of a code among ``values`` (a vocabulary, a lifecycle's states)."""
    return Literal[tuple(values)]  # type: ignore[valid-type]


State = Annotated[one_of(STATE_LABELS), Field(description="État du marché dans son cycle de vie")]
Trigger = Annotated[one_of(TRIGGERS), Field(description="Déclencheur d'une transition")]

# texts as the builders write them, their format said
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
# a decimal figure as ``str(Decimal)`` writes it: « 1234.50 », « 0 »
Figure = str
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Page(ReadModel, Generic[T]):
    """One page of a list: its items, how many there are in all, and where the page starts."""

    items: list[T]
    total: int = Field(description="Nombre d'éléments en tout (toutes pages)")
    limit: int = Field(description="Nombre d'éléments par page demandé")
    offset: int = Field(description="Rang du premier élément de la page")


class Health(ReadModel):
    """The service answers (``GET /api/health``)."""

    status: Literal["ok"]
    version: str = Field(description="Version de Clausier")


class LotRef(ReadModel):
    """A lot as a line names it: its number and title."""

    number: int = Field(description="Numéro du lot")
    title: str = Field(description="Intitulé du lot")


class PartyRef(ReadModel):
    """An organisation by its SIRET and its name (a buyer, a contractor)."""

    siret: str = Field(description="SIRET (14 chiffres)")
    name: str = Field(description="Raison sociale")
