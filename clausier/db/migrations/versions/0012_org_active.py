"""Buyers, structures and contractors can be deactivated, as facilitators already could

Revision ID: 0012_org_active
Revises: 0011_token_facilitator
Create Date: 2026-12-01

Every row there is active: an organisation is deactivated only from the directory. Adding a
column copies no table (the market-change triggers stay); dropping it does on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0012_org_active"
down_revision: str | None = "0011_token_facilitator"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("buyer", "structure", "contractor")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("active")
    # SQLite drops a column by copying the table, and its triggers with it (``db.changes``)
    changes.install(op.get_bind(), metadata)
