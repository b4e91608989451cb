"""Reference tables of the official geographic code, shipped with the product."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

import clausier.db  # noqa: F401  (naming convention before the tables)


class Region(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=3)
    name: str


class Departement(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=3)
    name: str
    region_code: str = Field(foreign_key="region.code", max_length=3)


class Epci(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=9)
    name: str
    kind: str = Field(max_length=8)
    population: int = 0


class Commune(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=5)
    name: str
    departement_code: str = Field(foreign_key="departement.code", max_length=3, index=True)
    region_code: str = Field(max_length=3)
    epci_code: str | None = Field(default=None, foreign_key="epci.code", max_length=9, index=True)
    population: int = 0
    postal_codes: str = ""
    parent_code: str | None = Field(default=None, max_length=5)
