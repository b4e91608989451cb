"""Reference tables: régions, départements, EPCIs and communes (COG 2025, Licence Ouverte).

Revision ID: 0002_referential
Revises: 0001_initial
Create Date: 2026-11-25

A new edition of the official geographic code comes as a new migration, so every installation
knows which edition it holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clausier.referential import tables

revision: str = "0002_referential"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *columns: str) -> sa.Table:
    return sa.table(name, *(sa.column(c) for c in columns))


def upgrade() -> None:
    op.bulk_insert(_table("region", "code", "name"), tables.regions())
    op.bulk_insert(_table("departement", "code", "name", "region_code"), tables.departements())
    op.bulk_insert(_table("epci", "code", "name", "kind", "population"), tables.epcis())
    op.bulk_insert(
        _table(
            "commune",
            "code",
            "name",
            "departement_code",
            "region_code",
            "epci_code",
            "population",
            "postal_codes",
            "parent_code",
        ),
        tables.communes(),
    )


def downgrade() -> None:
    for name in ("commune", "epci", "departement", "region"):
        op.execute(sa.text(f"DELETE FROM {name}"))
