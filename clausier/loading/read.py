"""What a load answers (``loader.LoadReport.as_dict``): how many of each kind were created,
updated or left unchanged, and the notices."""

from __future__ import annotations

from pydantic import Field

from clausier.documents import ReadModel


class RowCounts(ReadModel):
    """How many rows of a kind: each count present only when not zero."""

    created: int | None = Field(default=None, description="Créés")
    updated: int | None = Field(default=None, description="Mis à jour")
    unchanged: int | None = Field(default=None, description="Inchangés")


class LoadCounts(ReadModel):
    """The counts of each kind the load touched (a kind it did not touch is absent)."""

    buyers: RowCounts | None = None
    structures: RowCounts | None = None
    facilitators: RowCounts | None = None
    contractors: RowCounts | None = None
    conventions: RowCounts | None = None
    markets: RowCounts | None = None
    lots: RowCounts | None = None
    beneficiaries: RowCounts | None = None
    declarations: RowCounts | None = None
    outcomes: RowCounts | None = None


class LoadSummary(ReadModel):
    """A load done: all of it, or nothing (then it answers 422 with its problems)."""

    file: str = Field(description="Ce qui a été chargé (« requête » par l'API)")
    counts: LoadCounts
    notices: list[str] = Field(description="Ce qui mérite d'être su, en français")
