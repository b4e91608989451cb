"""Outcomes in the IAE's words, and the reason of an outcome recorded before its date

Revision ID: 0014_outcomes_iae
Revises: 0013_lot_cpv
Create Date: 2026-12-01

The former codes become the IAE's (communauté de l'inclusion): a job of six months or more and a
business creation are durable employment, a qualifying training a positive exit; ``other`` and
``unknown`` stay. The outcomes already recorded keep an empty reason. Going back, a transition
employment (which had no code of its own) becomes ``other``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0014_outcomes_iae"
down_revision: str | None = "0013_lot_cpv"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out: a migration keeps the codes of its day, whatever the vocabulary becomes.
UP = {
    "job_6_months": "durable_employment",
    "qualifying_training": "positive_exit",
    "business_creation": "durable_employment",
}
DOWN = {
    "durable_employment": "job_6_months",
    "positive_exit": "qualifying_training",
    "transition_employment": "other",
}

_outcome = sa.table("outcome", sa.column("outcome", sa.String))


def _map(codes: dict[str, str]) -> None:
    for old, new in codes.items():
        op.execute(_outcome.update().where(_outcome.c.outcome == old).values(outcome=new))


def upgrade() -> None:
    with op.batch_alter_table("outcome", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("early_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    _map(UP)


def downgrade() -> None:
    _map(DOWN)
    with op.batch_alter_table("outcome", schema=None) as batch_op:
        batch_op.drop_column("early_reason")
    # SQLite drops a column by copying the table, and its triggers with it (``db.changes``)
    changes.install(op.get_bind(), metadata)
